"""Model signals that keep the search index fresh, whoever changes an article.

The actions save through the model too, so admin edits, the loader, ``Article.objects.create``
in a shell and the actions all take this one path. Bulk ``QuerySet.update()`` sends no signal:
code that uses it on articles must call :func:`kefu.helpcenter.search.invalidate_index`.
"""

from __future__ import annotations

from typing import Any

from kefu.helpcenter.search import invalidate_index


def article_saved(
    sender: type, instance: Any, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    # Feedback counters are changed with QuerySet.update(), so no save of them reaches here;
    # a save of only these fields would not change what search sees either.
    if update_fields is not None and set(update_fields) <= {"helpful_count", "unhelpful_count", "updated_at"}:
        return
    invalidate_index()


def article_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    invalidate_index()
