"""A source's post text, made from its items by a template the owner writes.

The placeholders are ``{title}``, ``{summary}``, ``{link}``, ``{caption}`` and
``{hashtags}`` (what each source knows: a feed has a title, a summary and a link; a folder
or a Drive file has its caption). Only bare names are accepted: ``{link.__class__}``,
``{0}`` or a format spec would reach into Python objects, so they are refused when the
template is saved, as is an unknown name or an unmatched brace. ``{{`` and ``}}`` are
literal braces.

Links get the source's UTM parameters (``utm_source``, ``utm_medium``, ``utm_campaign``),
added to the link's own query and never replacing a parameter it already has.

Fitting X: the text is measured as X measures it (``publishing.x_text``). When it is too
long, the summary is shortened a word at a time (a CJK character counts as a word, since
those scripts have no spaces), with "…" where it was cut; then the title, the same way.
Links, hashtags, captions and the template's own words are never cut, and no word is cut
in half. Whatever still does not fit is queued flagged as too long, as a caption is.

``DEFAULTS`` is what a source without a template of its own posts (what it posted before
templates existed); a source uses ``render`` only once its owner set a template, hashtags
or UTM parameters.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from publishing import x_text
from publishing.models import ContentSource

FIELDS = ("title", "summary", "link", "caption", "hashtags")
# The order in which a text that does not fit is shortened. A caption is the owner's own
# words: never cut, flagged as too long instead (``scan._length_flag``).
SHORTENED = ("summary", "title")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")
DEFAULTS = {
    ContentSource.SourceType.RSS_FEED: "{title} {link} {hashtags}",
    ContentSource.SourceType.LOCAL_FOLDER: "{caption} {hashtags}",
    ContentSource.SourceType.GOOGLE_DRIVE: "{caption} {hashtags}",
}
ELLIPSIS = "…"
# A word: a run of letters without spaces, or one CJK character (ideographs, kana, hangul).
_WORDS = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]|[^\s\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
_TAG = re.compile(r"^#?([^\s#]+)$")


@dataclass(frozen=True)
class Rendered:
    text: str
    weighted_length: int
    fits: bool
    shortened: bool  # a field lost words to fit


def template_check(template: str, *, field: str = "text_template") -> str:
    """The template, or ``ValidationError`` keyed by ``field`` saying what is wrong with it."""
    template = (template or "").strip()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        raise ValidationError({field: _("A brace is not closed; write {{ or }} for a brace itself.")}) from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in FIELDS or spec or conversion:
            raise ValidationError(
                {
                    field: _("Unknown placeholder {%(name)s}: use %(fields)s.")
                    % {
                        "name": name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else ""),
                        "fields": ", ".join("{" + f + "}" for f in FIELDS),
                    }
                }
            )
    return template


def hashtags_clean(value: str, *, field: str = "hashtags") -> str:
    """``"cats, #dogs  birds"`` -> ``"#cats #dogs #birds"``; a tag with a space or a # inside is refused."""
    tags = []
    for word in re.split(r"[\s,]+", (value or "").strip()):
        if not word:
            continue
        match = _TAG.match(word)
        if not match:
            raise ValidationError({field: _("“%(tag)s” is not a hashtag.") % {"tag": word}})
        tags.append("#" + match.group(1))
    return " ".join(dict.fromkeys(tags))


def with_utm(url: str, utm: Mapping[str, str]) -> str:
    """``url`` with the UTM parameters it does not already carry."""
    wanted = [(key, utm.get(key, "")) for key in UTM_KEYS if utm.get(key)]
    if not url or not wanted:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _value in query}
    query += [(key, value) for key, value in wanted if key not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _words_cut(text: str, count: int) -> str:
    """The first ``count`` words of ``text`` (its own spacing kept), with "…" if any were left out."""
    words = list(_WORDS.finditer(text))
    if count >= len(words):
        return text
    if count <= 0:
        return ""
    return text[: words[count - 1].end()].rstrip(" ,;:.-—") + ELLIPSIS


def render(template: str, values: Mapping[str, str], *, utm: Mapping[str, str] | None = None) -> Rendered:
    """The post text for one item: ``template`` filled with ``values``, shortened to fit X."""
    filled = {name: " ".join((values.get(name) or "").split()) for name in FIELDS}
    filled["link"] = with_utm(filled["link"], utm or {})

    def text_of(current: Mapping[str, str]) -> str:
        # The template's line breaks stay; the spaces an empty field leaves behind go.
        lines = [re.sub(r"[ \t]+", " ", line).strip() for line in template.format(**current).splitlines()]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()

    text = text_of(filled)
    shortened = False
    for name in SHORTENED:
        if x_text.measure(text).fits or not filled[name]:
            continue
        original = filled[name]
        low, high = 0, len(_WORDS.findall(original))  # the most words that fit: binary search
        while low < high:
            middle = (low + high + 1) // 2
            if x_text.measure(text_of({**filled, name: _words_cut(original, middle)})).fits:
                low = middle
            else:
                high = middle - 1
        filled[name] = _words_cut(original, low)
        text = text_of(filled)
        shortened = True
    counted = x_text.measure(text)
    return Rendered(text=text, weighted_length=counted.weighted_length, fits=counted.fits, shortened=shortened)


def source_uses_template(source: ContentSource) -> bool:
    return bool(source.text_template or source.hashtags or any(getattr(source, key) for key in UTM_KEYS))


def source_render(source: ContentSource, values: Mapping[str, str], *, template: str | None = None) -> Rendered:
    """One item's post text for ``source`` (``template`` instead of the saved one: the preview)."""
    chosen = template if template is not None else source.text_template
    return render(
        chosen or DEFAULTS[source.source_type],
        {**values, "hashtags": source.hashtags},
        utm={key: getattr(source, key) for key in UTM_KEYS},
    )
