"""The help centre's (and ticket search's) jieba uses the common words of jieba's dictionary,
not all 349k: the full one cost every serving process about 70 MB."""

from __future__ import annotations

import jieba

from kefu.helpcenter import analysis


def test_the_segmenter_holds_the_common_words_and_the_synonyms_only() -> None:
    tokenizer = analysis._jieba()
    with jieba.get_dict_file() as handle:
        all_words = sum(1 for _ in handle)
    # FREQ holds every word and every prefix of one: the full dictionary gives more entries
    # than it has words.
    assert len(tokenizer.FREQ) < all_words / 2
    assert all(tokenizer.FREQ.get(word) for word in analysis.synonyms().cjk_words)
    assert "提币" in tokenizer.lcut("我的提币一直没有到账")
