"""Headless Chromium (Debian's, driven by Playwright) against the live test server."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_BROWSER = os.path.exists(CHROMIUM)

if not HAVE_BROWSER and os.environ.get("CRADLE_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"CRADLE_REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM} (apt-get install chromium)")

# Playwright's sync API runs an event loop in this thread; the test's own ORM use is synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Every browser test module sets ``pytestmark = BROWSER``.
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_BROWSER, reason="Debian's chromium is not installed"),
]


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(locale="en-US")
        yield context.new_page()
        browser.close()


PASSWORD = "a-very-long-pass-77"


def log_in(page, base: str, username: str, next_path: str, password: str = PASSWORD, totp_device=None) -> None:
    """Log in through the login form (and, given the user's TOTP device, the second step) and land on ``next_path``."""
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-form button[type=submit]")
    if totp_device is not None:
        second_step(page, base, totp_device)
    page.wait_for_url(f"{base}{next_path}")


def second_step(page, base: str, totp_device) -> None:
    """The log-in's second step with the device's current code."""
    from tests.conftest import totp_code

    page.wait_for_url(f"{base}/accounts/login/verify/")
    page.fill("#id_code", totp_code(totp_device))
    page.click("#totp-form button[type=submit]")


def flash_text(page) -> str:
    """The page's flash messages, or "" when there are none."""
    return page.inner_text("ul.flash") if page.locator("ul.flash").count() else ""


def choose_language(page, code: str) -> None:
    """Switch the language with the header's select and its button; wait for the new page."""
    page.select_option("header select[name=language]", code)
    with page.expect_navigation():
        page.click("header form.lang button")
