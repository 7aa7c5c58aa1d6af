"""The Chinese catalogues (``*/locale/zh_Hans/LC_MESSAGES/django.po``) read as entries.

A small reader of the gettext PO format (no dependency): enough for the tests that hold the
catalogues to ``docs/glossary-zh.md`` and for the browser walk's untranslated-string check.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "messaging", "publishing", "analytics", "cradle_site", "ops")


@dataclass
class Entry:
    path: Path
    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags


def catalogue_paths() -> list[Path]:
    return [ROOT / app / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po" for app in APPS]


def read(path: Path) -> list[Entry]:
    """Every entry of one PO file except the header (``msgid ""``)."""
    entries: list[Entry] = []
    entry = Entry(path)
    target: str | None = None
    index = 0

    def finish() -> None:
        nonlocal entry
        if entry.msgid or entry.msgid_plural:
            entries.append(entry)
        entry = Entry(path)

    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if line.startswith("#~"):
            continue  # obsolete entries are not used
        if not line:
            finish()
            target = None
            continue
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.startswith('"'):
            rest, keyword = line, None
        if keyword is not None:
            if target in ("msgstr",) and keyword == "msgid":
                finish()
            target = keyword
            if keyword.startswith("msgstr["):
                index = int(keyword[7:-1])
                target = "msgstr"
            elif keyword == "msgstr":
                index = 0
        text = ast.literal_eval(rest)
        if target == "msgid":
            entry.msgid += text
        elif target == "msgid_plural":
            entry.msgid_plural += text
        elif target == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + text
        elif target == "msgstr":
            while len(entry.msgstrs) <= index:
                entry.msgstrs.append("")
            entry.msgstrs[index] += text
    return entries


def every_entry() -> list[Entry]:
    return [entry for path in catalogue_paths() for entry in read(path)]
