"""Sign-up chooses the browser's time zone (static time-zone.js), and the search box
narrows the grouped list, under the site's real CSP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser.conftest import BROWSER, CHROMIUM

pytestmark = BROWSER


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.mark.one_database
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/Argentina/Buenos_Aires", "Europe/Kyiv"])
def test_signup_preselects_the_browsers_time_zone(live_server, browser, zone):
    page = browser.new_context(locale="en-US", timezone_id=zone).new_page()
    page.goto(f"{live_server.url}{reverse('accounts:signup')}")
    page.wait_for_load_state("load")
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")  # the context's zone is in force
    assert page.input_value("#id_time_zone") == zone


@pytest.mark.one_database
@pytest.mark.django_db(transaction=True)
def test_the_search_box_narrows_the_list_and_chooses_the_first_match(live_server, browser):
    page = browser.new_context(locale="en-US", timezone_id="UTC").new_page()
    page.goto(f"{live_server.url}{reverse('accounts:signup')}")
    search = page.locator("#id_time_zone_filter")
    assert search.is_visible() and search.get_attribute("aria-label") == "Find a time zone"
    search.fill("tokyo")
    assert page.input_value("#id_time_zone") == "Asia/Tokyo"
    visible = page.evaluate(
        "Array.from(document.querySelectorAll('#id_time_zone option')).filter(o => !o.hidden).map(o => o.value)"
    )
    assert visible == ["Asia/Tokyo"]


@pytest.mark.one_database
@pytest.mark.django_db(transaction=True)
def test_the_profile_keeps_the_stored_zone_whatever_the_browser_says(live_server, browser):
    from accounts.models import User
    from tests.browser.conftest import PASSWORD, log_in

    User.objects.create_user(username="tz", email="tz@example.com", password=PASSWORD, time_zone="Europe/Paris")
    page = browser.new_context(locale="en-US", timezone_id="Asia/Tokyo").new_page()
    log_in(page, live_server.url, "tz", reverse("accounts:profile"))
    assert page.input_value("#id_time_zone") == "Europe/Paris"
