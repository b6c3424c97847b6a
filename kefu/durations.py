"""Durations as people read them: "3 分 20 秒" / "3 min 20 s", in the active language."""

from __future__ import annotations

from django.utils.translation import gettext as _


def format_duration(seconds: float | None, *, empty: str = "—") -> str:
    """Whole seconds as hours, minutes and seconds in the active language; ``empty`` for None.

    Two units at most: "1 h 5 min" says enough where "1 h 5 min 12 s" is noise.
    """
    if seconds is None:
        return empty
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("{h} h {m} min").format(h=hours, m=minutes) if minutes else _("{h} h").format(h=hours)
    if minutes:
        return _("{m} min {s} s").format(m=minutes, s=secs) if secs else _("{m} min").format(m=minutes)
    return _("{s} s").format(s=secs)
