"""Tables on a phone (390 px), as Chromium draws them: cradle.css stacks each row into a card and
tables.js writes each column's heading over its cell.

- a cell with nothing in it (the account e-mail has no actions) is hidden, so no heading
  stands over nothing;
- every cell that is shown carries its column's heading;
- a table's caption spans the card instead of shrinking to a word per line.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.browser.conftest import BROWSER, PASSWORD, log_in

pytestmark = BROWSER

CELLS = """
(selector) => [...document.querySelectorAll(selector + ' tbody td')].map(td => ({
  text: td.textContent.trim(),
  label: td.getAttribute('data-label'),
  shown: getComputedStyle(td).display !== 'none',
}))
"""


@pytest.fixture
def phone(live_server, page, db):
    # A verified address: its row then has no actions (an unverified one links to its check).
    User.objects.create_user(
        username="phone", email="phone@example.com", password=PASSWORD, email_verified_at=timezone.now()
    )
    page.set_viewport_size({"width": 390, "height": 844})
    return live_server.url, page


def test_an_empty_cell_is_hidden_and_every_shown_cell_has_its_heading(phone):
    base, page = phone
    log_in(page, base, "phone", reverse("messaging:owner_contacts"))
    cells = page.evaluate(CELLS, "main")
    assert cells, "the contacts page shows the account e-mail's row"
    empty = [c for c in cells if not c["text"]]
    assert empty, "the account e-mail's row has an empty actions cell"
    assert not any(c["shown"] for c in empty)
    assert all(c["label"] for c in cells if c["shown"]), cells
    headings = page.evaluate("[...document.querySelectorAll('main thead th')].map(th => th.textContent.trim())")
    assert {c["label"] for c in cells if c["shown"]} <= set(headings)


def test_a_caption_spans_the_stacked_table(phone):
    base, page = phone
    log_in(page, base, "phone", reverse("messaging:trusted_contacts"))
    caption = page.locator("#trusted-list caption")
    table = page.locator("#trusted-list").bounding_box()
    box = caption.bounding_box()
    assert box["width"] > 0.8 * table["width"], (box, table)
    line = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#trusted-list caption')).lineHeight)")
    assert box["height"] < 2.5 * line, "the caption's few words fit on one or two lines"
