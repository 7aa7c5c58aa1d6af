"""Single-line text: what may not appear in a name, a title or a contact, and how a header is made safe.

A line break in a value that becomes an e-mail header lets the value write headers of its own
(Django refuses it with ``BadHeaderError``, so the mail never goes out); other control
characters break logs and exports the same way. Services refuse them on input
(``validate_single_line``); whatever builds a header from stored text passes it through
``one_line`` too, so rows stored before the rule still go out.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# C0 controls (\r, \n, \t, \x00 ...), DEL, C1 controls (NEL \x85 among them) and the Unicode
# line and paragraph separators: every character Python's str.splitlines() breaks on is here.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def validate_single_line(value: str) -> None:
    """Raise ``ValidationError`` (code ``control_characters``) when ``value`` has a line break or control character."""
    if CONTROL_CHARACTERS.search(value or ""):
        raise ValidationError(
            _("Write this on one line, without line breaks or control characters."), code="control_characters"
        )


def one_line(value: str) -> str:
    """``value`` safe for a header: every control character a space, runs of spaces one, no edge spaces."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", value or "").split())
