"""Brings bot/locale/fr.po up to date with the texts the code marks.

    .venv/bin/python scripts/update_catalog.py

Extracts every `_()`, `T()`, `N_()` and `ngettext()` text of bot/ and flows/ with Babel,
keeps the French of those already translated, adds the new ones with an empty msgstr (to be
translated: tests/test_french.py fails until they are) and drops those no longer used.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.i18n import parse_po  # noqa: E402

CATALOG = REPO / "bot" / "locale" / "fr.po"
KEYWORDS = {"_": None, "T": None, "N_": None, "ngettext": (1, 2)}
HEADER = """# French texts of chorus-bot. The msgid is the English text; keep {placeholders}.
# Update with: .venv/bin/python scripts/update_catalog.py
msgid ""
msgstr ""
"Project-Id-Version: chorus-bot\\n"
"Language: fr\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\\n"
"""


def extract() -> dict[str | tuple[str, str], list[str]]:
    """msgid (or (singular, plural)) → where it is used, in the order of the sources."""
    from babel.messages.extract import extract_from_file

    found: dict[str | tuple[str, str], list[str]] = {}
    for folder in ("bot", "flows"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for lineno, message, _comments, _context in extract_from_file(
                "python", str(path), keywords=KEYWORDS, comment_tags=(), options={}
            ):
                key = message if isinstance(message, str) else tuple(message)
                found.setdefault(key, []).append(f"{path.relative_to(REPO)}:{lineno}")
    return found


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    lines = escaped.split("\n")
    if len(lines) == 1:
        return f'"{escaped}"'
    parts = [f'"{line}\\n"' for line in lines[:-1]] + ([f'"{lines[-1]}"'] if lines[-1] else [])
    return '""\n' + "\n".join(parts)


def render(found: dict, known: dict) -> str:
    entries = [HEADER]
    for key, where in found.items():
        refs = "#: " + " ".join(where[:3])
        if isinstance(key, tuple):
            singular, plural = key
            entries.append(
                f"{refs}\nmsgid {_quote(singular)}\nmsgid_plural {_quote(plural)}\n"
                f"msgstr[0] {_quote(known.get((singular, 0), ''))}\n"
                f"msgstr[1] {_quote(known.get((singular, 1), ''))}\n"
            )
        else:
            entries.append(f"{refs}\nmsgid {_quote(key)}\nmsgstr {_quote(known.get(key, ''))}\n")
    return "\n".join(entries)


def main(extra: dict | None = None) -> None:
    known = parse_po(CATALOG.read_text(encoding="utf-8")) if CATALOG.exists() else {}
    known.update(extra or {})
    found = extract()
    CATALOG.write_text(render(found, known), encoding="utf-8")
    missing = [key for key in found if isinstance(key, str) and key not in known]
    print(f"{CATALOG.relative_to(REPO)}: {len(found)} texts, {len(missing)} to translate")


if __name__ == "__main__":
    main()
