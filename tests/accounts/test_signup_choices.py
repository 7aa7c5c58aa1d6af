"""Sign-up and profile choices: the page's language first, canonical time zones grouped by
region (with a search box), and each language named in itself."""

from __future__ import annotations

import re
import zoneinfo

import pytest
from django.urls import reverse

from accounts.forms import ProfileForm, SignupForm
from accounts.time_zones import canonical_time_zones, grouped_choices

LEGACY = ("US/Eastern", "US/Pacific", "Etc/GMT+5", "Etc/GMT-8", "Asia/Calcutta", "Europe/Kiev", "GMT", "EST5EDT")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_signup_forms_language_is_the_pages(client, db, language):
    client.cookies["django_language"] = language
    response = client.get(reverse("accounts:signup"))
    form = response.context["form"]
    assert form["language"].value() == language
    assert re.search(rf'<option value="{language}" selected>', response.content.decode())


def test_the_zone_list_holds_no_legacy_alias():
    zones = canonical_time_zones()
    assert "UTC" in zones and "Asia/Shanghai" in zones and "Europe/Oslo" in zones and "Asia/Kolkata" in zones
    assert not set(LEGACY) & set(zones)
    assert set(zones) <= zoneinfo.available_timezones()
    assert not [name for name in zones if name.startswith(("US/", "Etc/", "Canada/", "Brazil/", "Mexico/"))]


def test_the_zone_list_is_grouped_by_region():
    groups = dict((str(region), zones) for region, zones in grouped_choices())
    assert {"UTC", "Africa", "America", "Asia", "Europe", "Pacific Ocean"} <= set(groups)
    assert ("Asia/Shanghai", "Shanghai") in groups["Asia"]
    assert all(value.startswith("Asia/") for value, _label in groups["Asia"])
    assert sum(len(zones) for zones in groups.values()) == len(canonical_time_zones())


def test_the_signup_page_renders_optgroups_a_search_box_and_the_script(client, db):
    page = client.get(reverse("accounts:signup")).content.decode()
    assert page.count("<optgroup") == len(grouped_choices())
    assert 'id="id_time_zone_filter"' in page and 'aria-label="Find a time zone"' in page
    assert 'data-from-browser="1"' in page and "accounts/time-zone.js" in page
    assert "US/Eastern" not in page


def test_a_bound_signup_form_keeps_the_zone_sent():
    form = SignupForm({"time_zone": "Asia/Tokyo"})
    assert "data-from-browser" not in str(form["time_zone"])


def test_a_legacy_zone_already_stored_stays_a_choice(owner):
    owner.time_zone = "US/Eastern"
    owner.save()
    form = ProfileForm({"time_zone": "US/Eastern", "language": "en"}, instance=owner)
    assert form.is_valid(), form.errors
    assert not ProfileForm({"time_zone": "Mars/Olympus", "language": "en"}, instance=owner).is_valid()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_languages_are_named_in_themselves_in_every_picker(client, owner, language):
    owner.language = language
    owner.save()
    client.force_login(owner)
    page = client.get(reverse("accounts:profile")).content.decode()
    profile_select = page.split('name="language"', 2)[2] if page.count('name="language"') > 1 else page
    for html in (page, profile_select):
        assert ">English</option>" in html and ">简体中文</option>" in html
    assert "Simplified Chinese" not in page and "英语" not in page
