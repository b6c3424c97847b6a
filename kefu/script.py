"""Chinese script conversion (OpenCC): the one place the code base builds its converters.

The bot's normaliser and the help centre's analysis fold traditional characters to simplified
(``t2s``); the dialogue manager detects the customer's script and converts replies for
traditional writers (``s2tw``, ``s2twp``). Each converter is built once per process, on first
use: the pure-Python OpenCC reads its dictionaries then, which ``kefu --help`` must not pay,
and three copies of the same ``t2s`` tables cost memory and start-up time for nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def converter(config: str) -> Any:
    """OpenCC's converter for ``config`` ("t2s", "s2tw", "s2twp", ...), shared by every caller."""
    from opencc import OpenCC

    return OpenCC(config)
