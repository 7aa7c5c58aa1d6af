"""The statistics date fields show the range in force, also when it was defaulted."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from tests.analytics.factories import NOW

# NOW is 2025-03-10 (UTC, the owner's zone): the default range is the week up to it.
WEEK_FROM, TODAY = "2025-03-04", "2025-03-10"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _fields(client, query: str = "", *, status: int = 200) -> dict:
    response = client.get(reverse("analytics:dashboard") + query)
    assert response.status_code == status
    form = response.context["form"]
    return {name: form[name].value() for name in ("from_", "to")} | {"html": response.content.decode()}


@pytest.mark.parametrize("query", ["", "?interval=day", "?from=&to=", "?interval=hour"])
def test_a_defaulted_range_is_shown_in_the_fields(client, owner, query):
    client.force_login(owner)
    shown = _fields(client, query)
    assert str(shown["from_"]) == WEEK_FROM and str(shown["to"]) == TODAY
    assert f'name="from" value="{WEEK_FROM}"' in shown["html"] and f'name="to" value="{TODAY}"' in shown["html"]


def test_only_a_start_date_shows_the_end_it_defaulted_to(client, owner):
    client.force_login(owner)
    shown = _fields(client, "?from=2025-03-08")
    assert 'name="from" value="2025-03-08"' in shown["html"] and f'name="to" value="{TODAY}"' in shown["html"]


def test_a_form_with_errors_keeps_what_was_typed(client, owner):
    client.force_login(owner)
    shown = _fields(client, "?from=2025-03-09&to=2025-03-01", status=400)
    assert 'name="from" value="2025-03-09"' in shown["html"] and 'name="to" value="2025-03-01"' in shown["html"]


def test_the_chinese_date_fields_hold_iso_dates(client, owner):
    # <input type="date"> drops anything but YYYY-MM-DD: the localised 2025/03/04 showed nothing.
    owner.language = "zh-hans"
    owner.save(update_fields=["language"])
    client.force_login(owner)
    with translation.override("zh-hans"):
        html = _fields(client)["html"]
    assert f'name="from" value="{WEEK_FROM}"' in html
