"""The interface's language: French when the locale says so, English otherwise.

`CHORUS_BOT_LANG=fr|en` overrides `LC_ALL`, `LC_MESSAGES` and `LANG` (first set wins, as in
POSIX). The English text is the message id; French comes from bot/locale/fr.po, read when
first needed (a few milliseconds, no build step, never stale). Imports nothing heavy: flows/
and bot/errors.py use it too.

Three helpers:
- `_("text {x}").format(x=…)` translates now: command output, help, prompts, progress;
- `ngettext(singular, plural, n)` the same with a plural;
- `T("text {x}", x=…)` for error messages: a str whose value stays English (what JSON output,
  the audit trail and failure.json hold, identical in both languages) and that `localize()`
  turns into the interface's language when the error is shown.
"""

from __future__ import annotations

import ast
import os
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("en", "fr")
_CATALOG_DIR = Path(__file__).parent / "locale"


def language() -> str:
    forced = os.environ.get("CHORUS_BOT_LANG", "").strip().lower()
    if forced[:2] in LANGUAGES:
        return forced[:2]
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


def parse_po(text: str) -> dict[str | tuple[str, int], str]:
    """msgid → msgstr (and (msgid, n) → msgstr[n] for plurals) of a .po file; untranslated
    and fuzzy entries are left out, so that the English text shows instead."""
    catalog: dict[str | tuple[str, int], str] = {}
    entries = re.split(r"\n\s*\n", text)
    for entry in entries:
        fields: dict[str, str] = {}
        current = None
        fuzzy = False
        for line in entry.splitlines():
            line = line.strip()
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            if not line or line.startswith("#"):
                continue
            match = re.match(r"^(msgid_plural|msgid|msgctxt|msgstr(?:\[\d+\])?)\s+(\".*\")$", line)
            if match:
                current = match.group(1)
                fields[current] = ast.literal_eval(match.group(2))
            elif line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
        msgid = fields.get("msgid")
        if not msgid or fuzzy:  # the header has an empty msgid
            continue
        if "msgid_plural" in fields:
            for key, value in fields.items():
                index = re.fullmatch(r"msgstr\[(\d+)\]", key)
                if index and value:
                    catalog[(msgid, int(index.group(1)))] = value
        elif fields.get("msgstr"):
            catalog[msgid] = fields["msgstr"]
    return catalog


@cache
def _catalog(lang: str) -> dict[str | tuple[str, int], str]:
    if lang == "en":
        return {}
    path = _CATALOG_DIR / f"{lang}.po"
    return parse_po(path.read_text(encoding="utf-8"))


def _(message: str) -> str:
    translated = _catalog(language()).get(message)
    return translated if isinstance(translated, str) else message


def N_(message: str) -> str:
    """Marks a text for the catalog where it is translated later, by `_(variable)`."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    lang = language()
    # French: singular for 0 and 1; English: singular for 1 only.
    index = (0 if n <= 1 else 1) if lang == "fr" else (0 if n == 1 else 1)
    translated = _catalog(lang).get((singular, index))
    if translated:
        return translated
    return singular if index == 0 else plural


class T(str):
    """An error message that stays English as a str and is translated when shown."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, /, **params: Any) -> T:
        value = template.format(**params) if params else template
        text = super().__new__(cls, value)
        text.template = template
        text.params = params
        return text

    def localized(self) -> str:
        translated = _(self.template)
        if not self.params:
            return translated
        return translated.format(**{key: localize(v) for key, v in self.params.items()})


def localize(value: Any) -> Any:
    """The interface's text for a T, and any other value unchanged."""
    return value.localized() if isinstance(value, T) else value


def when(moment: datetime, *, seconds: bool = True) -> str:
    """A date and time for people: jj/mm/aaaa, Paris time, in both languages."""
    local = moment.astimezone(ZoneInfo("Europe/Paris"))
    text = f"{local:%d/%m/%Y %H:%M:%S}" if seconds else f"{local:%d/%m/%Y %H:%M}"
    return _("{moment} (Paris time)").format(moment=text)
