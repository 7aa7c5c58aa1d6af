"""The Chinese catalogues follow ``docs/glossary-zh.md``: complete, one word per term,
您, the brand in Latin letters, Chinese punctuation, no doubled marks."""

from __future__ import annotations

import re

import pytest

from tests.catalogues import ROOT, Entry, every_entry

ENTRIES = every_entry()
CJK = re.compile(r"[\u4e00-\u9fff]")
GLOSSARY = ROOT / "docs" / "glossary-zh.md"


def _terms() -> list[tuple[str, str, list[str]]]:
    """The glossary's table: (English, 中文, the words it must not be)."""
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("English", "") or set(cells[0]) <= {"-"}:
            continue
        english, chinese, avoid = cells
        rows.append((english, chinese, [word.strip() for word in avoid.split(",") if word.strip()]))
    return rows


TERMS = _terms()


def _where(entry: Entry) -> str:
    return f"{entry.path.relative_to(ROOT)}: {entry.msgid!r}"


def _chinese(entry: Entry) -> list[str]:
    return [text for text in entry.msgstrs if CJK.search(text)]


def test_the_glossary_has_its_terms():
    assert len(TERMS) > 40
    assert ("pending", "待处理", ["待发布"]) in TERMS


def test_every_string_is_translated_and_none_is_fuzzy():
    missing = [_where(e) for e in ENTRIES if not e.msgstrs or not all(e.msgstrs) or e.fuzzy]
    assert missing == []


@pytest.mark.parametrize("english,chinese,avoid", [row for row in TERMS if row[2]], ids=lambda value: str(value))
def test_no_string_uses_a_word_the_glossary_rules_out(english, chinese, avoid):
    found = [(_where(e), text) for e in ENTRIES for text in e.msgstrs for word in avoid if word in text]
    assert found == [], f"{english}: use {chinese}"


def test_a_string_that_is_a_term_uses_its_word():
    by_english = {}
    for english, chinese, _avoid in TERMS:
        by_english[re.sub(r"\s*\(.*\)$", "", english).lower()] = chinese
    wrong = []
    for entry in ENTRIES:
        key = entry.msgid.rstrip(".").lower()
        if key in by_english and any(by_english[key] not in text for text in entry.msgstrs):
            wrong.append((_where(entry), entry.msgstrs, by_english[key]))
    # A few English words name two things; the glossary says which word goes where.
    wrong = [w for w in wrong if w[0].split(": ", 1)[1].strip("'\"").lower() not in ("name",)]
    assert wrong == []


def test_it_says_you_politely():
    assert [(_where(e), t) for e in ENTRIES for t in e.msgstrs if "你" in t] == []


def test_the_brand_stays_cradle():
    wrong = [_where(e) for e in ENTRIES if "Cradle" in e.msgid and any("Cradle" not in t for t in e.msgstrs)]
    assert wrong == []


def test_a_chinese_sentence_ends_with_chinese_punctuation():
    wrong = []
    for entry in ENTRIES:
        end = entry.msgid.rstrip()[-1:]
        if end not in ".:?!":
            continue
        for text in _chinese(entry):
            if text.rstrip()[-1:] in ".:?!" and not text.rstrip().endswith("..."):
                wrong.append((_where(entry), text))
    assert wrong == []


def test_no_ascii_colon_or_comma_sits_between_chinese_words():
    pattern = re.compile(r"[\u4e00-\u9fff][,:;?!]|[,:;?!] ?[\u4e00-\u9fff]")
    wrong = [(_where(e), t) for e in ENTRIES for t in _chinese(e) if pattern.search(t)]
    assert wrong == []


def test_no_mark_is_doubled():
    doubled = re.compile(r"([。，：；？！、])\1|(?<!\.)\.\.(?!\.)|，。|。，")
    wrong = [(_where(e), t) for e in ENTRIES for t in [e.msgid, e.msgid_plural, *e.msgstrs] if doubled.search(t)]
    assert wrong == []


def test_placeholders_are_kept():
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\{ *\w+ *\}\}")
    wrong = []
    for entry in ENTRIES:
        wanted = sorted(set(placeholder.findall(entry.msgid)))
        for text in entry.msgstrs:
            if sorted(set(placeholder.findall(text))) != wanted:
                wrong.append((_where(entry), text))
    assert wrong == []
