"""Matching the portal's visible French text the way a reader does.

The real portal's markup is unknown and independent portals reuse the same words, so every
match tolerates extra or non-breaking spaces, letter case, typographic apostrophes and an
optional trailing colon.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# `\s` already takes non-breaking and narrow non-breaking spaces, in Python's `re` as in the
# page's JavaScript. Kept short on purpose: a pattern is repeated in every tier of a locator,
# and every nested `or`/`filter` escapes its backslashes again; a spelled-out class made one
# wait's selector 46 KB long, parsed anew by the page at each poll.
_SPACE = r"\s"
_APOSTROPHES = "'\u2019\u02bc`"


def normalize(text: str) -> str:
    """Collapse every kind of space and unify apostrophes, for parsing inner_text()."""
    for apostrophe in _APOSTROPHES[1:]:
        text = text.replace(apostrophe, "'")
    return re.sub(f"{_SPACE}+", " ", text).strip()


def _body(words: str) -> str:
    out: list[str] = []
    for char in words.strip().rstrip(":").strip():
        if char.isspace():
            if not out or out[-1] != f"{_SPACE}+":
                out.append(f"{_SPACE}+")
        elif char in _APOSTROPHES:
            out.append(f"[{_APOSTROPHES}]")
        else:
            out.append(re.escape(char))
    return "".join(out)


def label_pattern(words: str) -> str:
    """A regex source for these words inside a longer text (spaces and apostrophes loose)."""
    return _body(words)


def loose(words: str) -> re.Pattern[str]:
    """A pattern for a whole label or accessible name, e.g. `Identifiant :`."""
    return re.compile(rf"^{_SPACE}*{_body(words)}{_SPACE}*:?{_SPACE}*$", re.IGNORECASE)


def loose_any(choices: Iterable[str]) -> re.Pattern[str]:
    """`loose` for any of several texts, in one pattern (one query to the page)."""
    bodies = "|".join(_body(words) for words in choices)
    return re.compile(rf"^{_SPACE}*(?:{bodies}){_SPACE}*:?{_SPACE}*$", re.IGNORECASE)


def containing_any(choices: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(_body(words) for words in choices), re.IGNORECASE)


def containing(words: str) -> re.Pattern[str]:
    """A pattern for text that contains these words somewhere."""
    return re.compile(_body(words), re.IGNORECASE)


def digits_pattern(number: str) -> re.Pattern[str]:
    """Matches a SIRET however the page groups its digits (`259 000 966 00020`)."""
    spaced = f"{_SPACE}?".join(re.escape(d) for d in number)
    return re.compile(rf"(?<!\d){spaced}(?!\d)")
