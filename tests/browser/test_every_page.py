"""Every page of every app, logged out, as a user and as staff, at 390 px and 1280 px, in
English and Simplified Chinese: no horizontal scrolling, no axe-core violation of serious
or critical impact (WCAG 2.2 AA rules), no Content-Security-Policy violation, no doubled full
stop ("p.m..") and, on the Chinese pages, no untranslated string against the catalogue: no
visible text, accessible label or placeholder is the English of a catalogue entry (an entry
whose Chinese is the same as its English, "Cradle", "Webhook", is a name and is let through).

axe-core is vendored (``tests/browser/vendor/axe.min.js``, npm ``axe-core`` 4.14.1, MPL-2.0)
so the test needs no network. The pages run under their real CSP (``script-src 'self'``):
axe is loaded as a ``<script src>`` from a same-origin path that Playwright answers with the
vendored file (``AXE_PATH``), which the policy allows like any script of ours, instead of
being pasted inline, which the policy refuses. Violations are caught twice: the
``securitypolicyviolation`` events the page fires (a listener installed before any of its
scripts) and Chromium's console messages ("Refused to ..."), so a refused inline script,
style or handler fails the test. The page list is built from the URL patterns: a pattern that
no case below covers fails the test, so a page added later is checked too.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.admin import site as admin_site
from django.contrib.auth.tokens import default_token_generator
from django.urls import get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.email_verification import email_change_token, email_verification_token
from accounts.models import User
from accounts.signup import PendingSignup, signup_token
from tests.browser.conftest import BROWSER, PASSWORD, second_step
from tests.catalogues import every_entry
from tests.conftest import give_totp

pytestmark = BROWSER

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
AXE_PATH = "/__test__/axe.min.js"  # answered by Playwright, never by the site
# Runs before the page's own scripts on every document; records what the CSP refused.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
    ' at ' + (e.sourceFile || '') + ':' + e.lineNumber);
});
"""
WIDTHS = (390, 1280)
LANGUAGES = ("en", "zh-hans")
SERIOUS = ("serious", "critical")

# Routes that are not pages a person reads: actions (POST only), files, the API.
NOT_PAGES = {
    "healthz",
    "favicon",
    "set_language",
    "logout",
    "language_set",
    "apikey_revoke",
    "email_verify_resend",  # POST only: the banner's "send the link again"
    "source_scan",
    "task_action",
    "calendar_move",  # POST: the calendar's drop and "Move to" form
    "project_credentials",
    "recipient_secret",  # POST: show or regenerate a webhook recipient's signing secret
    "named_resend",  # POST: ask a recipient again to confirm their address ("you are named")
    "alert_webhook_secret",  # POST after re-auth: show or regenerate a project's alert webhook secret
    "source_add",
    "drive_connect",
    "drive_disconnect",
    "drive_callback",  # Google's redirect back: it answers with a redirect to the project page
    "x_connect",
    "x_disconnect",
    "x_callback",  # X's redirect back, the same
    "mastodon_connect",
    "mastodon_callback",  # the instance's redirect back, the same
    "bluesky_connect",
    "account_disconnect",
    "source_scan_status",  # JSON for the scan progress poll
    "source_template_preview",  # POST: JSON for the source page's live preview
    "project_archive",  # POST only
    "alert_dismiss",  # POST only
    "post_delete",  # POST only
    "post_duplicate",  # POST only
    "media_file",  # an image of the owner's folder, for the preview
    "project_export",
    # JSON steps of the passkey ceremonies (accounts.mfa_webauthn) and POST-only changes
    "login_passkey_options",
    "login_passkey_verify",
    "passkey_add_options",
    "passkey_add_verify",
    "reauth_passkey_options",
    "reauth_passkey_verify",
    "recovery_regenerate",
    "factor_remove",
    "recovery_codes_new",  # shown once after a first passkey, else a redirect (its template: the codes page)
    "publishing_export",
    "messages_export",
    "activity_csv",  # the Activity page's CSV (tests/ops/test_audit_log.py)
    "projection",  # JSON: the "what will happen" sentence the message form asks for as the owner types
    "pause_end",  # POST only
    # The contacts page's forms (POST only; a refused one answers with the contacts page itself)
    "owner_contact_add",
    "owner_contact_verify",
    "owner_contact_resend",
    "owner_contact_level",
    "owner_contact_remove",
    "owner_contacts_test",
    "telegram_webhook",  # Telegram's bot updates: JSON, POST only, behind its secret
    # The personal check-in URL: POST for scripts, plain text (GET answers 405 and changes nothing)
    "ping",
    "ping_message",
    # Attachments: POST-only changes and file downloads (Content-Disposition: attachment)
    "attachment_upload",
    "attachment_remove",
    "attachment_download",
    "delivery_file",
    "delivery_renew",  # POST: "send me a new link" (its answers: tests/messaging/test_delivery_page.py)
    # Trusted contacts: POST-only changes (their answers: the list page, the contact's page)
    "trusted_contact_remove",
    "access_refuse",
    "trusted_request",
    "trusted_pause",
    # Swagger UI (drf-spectacular's page) and the schema file
    "api-docs",
    "api-schema",
}


# What a page shows as text: its text nodes and the lines of its elements' rendered text,
# plus the labels a screen reader reads (aria-label, placeholder, title, alt). Code, hidden
# elements and the values people typed are left out.
VISIBLE_TEXT = """() => {
  // Text marked as another language (lang="en" on a Chinese page: the owner's own delivery
  // e-mail in the preview) is not a missing translation.
  const pageLang = document.documentElement.lang.toLowerCase().slice(0, 2);
  const otherLang = (el) => { const marked = el.closest('[lang]'); return marked && marked !== document.documentElement && !marked.lang.toLowerCase().startsWith(pageLang); };
  const skip = (el) => !el || el.closest('script, style, noscript, code, pre, textarea, [hidden], [aria-hidden=true]') || otherLang(el);
  const found = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (skip(node.parentElement) || !node.parentElement.getClientRects().length) continue;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (text) found.add(text);
  }
  const holdsOtherLang = (el) => Array.from(el.querySelectorAll('[lang]')).some((m) => !m.lang.toLowerCase().startsWith(pageLang));
  for (const el of document.body.querySelectorAll('p, li, td, th, label, button, a, h1, h2, h3, legend, option, small, span, div')) {
    // A box holding text of another language: its own words are among the text nodes above.
    if (skip(el) || !el.getClientRects().length || holdsOtherLang(el)) continue;
    for (const line of el.innerText.split('\\n')) { const text = line.replace(/\\s+/g, ' ').trim(); if (text) found.add(text); }
  }
  for (const el of document.body.querySelectorAll('[aria-label], [placeholder], [title], img[alt]')) {
    if (skip(el)) continue;
    for (const name of ['aria-label', 'placeholder', 'title', 'alt']) {
      const text = (el.getAttribute(name) || '').replace(/\\s+/g, ' ').trim();
      if (text) found.add(text);
    }
  }
  return Array.from(found);
}"""
# The deepest elements that reach past the viewport's right edge: what to fix when a page scrolls.
WIDEST = """() => Array.from(document.body.querySelectorAll('*'))
  .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
  .filter((el) => !Array.from(el.children).some((child) =>
    child.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5))
  .slice(0, 3).map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''))"""
DOUBLED_STOP = re.compile(r"(?<![.])[.][.](?![.])|。。")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


def _english_of_the_catalogues() -> tuple[set[str], list[re.Pattern]]:
    """Every English string the catalogues translate, as exact texts and, for those with
    placeholders, as patterns whose placeholders match anything. An entry translated to
    itself (a name) and a string without two letters in a row are left out."""
    exact: set[str] = set()
    patterns: list[re.Pattern] = []
    for entry in every_entry():
        for english in filter(None, (entry.msgid, entry.msgid_plural)):
            if english in entry.msgstrs or not re.search(r"[A-Za-z]{2}", english):
                continue
            for line in english.split("\n"):
                line = " ".join(line.split())
                if not re.search(r"[A-Za-z]{2}", PLACEHOLDER.sub("", line)):
                    continue
                if PLACEHOLDER.search(line):
                    parts = [re.escape(part) for part in PLACEHOLDER.split(line)]
                    # At least one word of English around the placeholders, or "%(a)s %(b)s" matches all.
                    if len(re.sub(r"[^A-Za-z]", "", PLACEHOLDER.sub("", line))) >= 4:
                        patterns.append(re.compile(".+?".join(parts)))
                else:
                    exact.add(line)
    return exact, patterns


ENGLISH, ENGLISH_PATTERNS = _english_of_the_catalogues()


def _untranslated(texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        bare = text.rstrip(":：").strip()
        if text in ENGLISH or bare in ENGLISH or any(p.fullmatch(text) for p in ENGLISH_PATTERNS):
            found.append(text)
    return sorted(found)


def _route_names() -> set[str]:
    names: set[str] = set()

    def walk(resolver, namespace: str = "") -> None:
        for entry in resolver.url_patterns:
            if hasattr(entry, "url_patterns"):
                if entry.namespace in ("admin",) or str(entry.pattern).startswith("api/"):
                    continue
                walk(entry, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
            elif entry.name:
                names.add(f"{namespace}{entry.name}")

    walk(get_resolver())
    return names


def _data() -> dict:
    """The demo accounts' data: a user with messages and a project, and a superuser."""
    from analytics.demo import create_demo as analytics_demo
    from messaging import links
    from messaging.demo import create_demo as messaging_demo
    from messaging.models import Message
    from messaging.pauses import pause_start
    from publishing.demo import create_demo as publishing_demo
    from publishing.models import PublishingTask

    user = User.objects.create_user(username="demo", email="demo@example.com", password=PASSWORD)
    messaging_demo(user)
    project = publishing_demo(user)
    analytics_demo(user)
    # The back office walk opens the first task: give it the longest unbroken name a deep
    # folder gives (a clean clone's longer path made that page 65 px too wide at 390 px).
    first_task = PublishingTask.objects.order_by("pk").first()
    deep = "/srv/" + "/".join(["a_rather_long_folder_name_without_spaces"] * 4) + "/" + Path(first_task.media_path).name
    PublishingTask.objects.filter(pk=first_task.pk).update(media_path=deep)
    boss = User.objects.create_superuser(username="boss", email="boss@example.com", password=PASSWORD)
    message = Message.objects.filter(owner=user).order_by("pk").last()
    # A pause in force: every page shows its banner, the pause page lists it, the message page says so.
    pause_start(owner=user, message=message, until=timezone.now() + timedelta(days=10))
    pause_start(owner=user, until=timezone.now() + timedelta(days=5))  # and one of all: the banner's other sentence
    # The contacts page's states: one waiting for its code, one verified that refused a warning for good.
    from messaging.models import OwnerContact

    OwnerContact.objects.create(
        owner=user, kind=OwnerContact.Kind.EMAIL, address="demo.phone@example.com", label="Phone"
    )
    OwnerContact.objects.create(
        owner=user,
        kind=OwnerContact.Kind.PUSH,
        address="https://ntfy.example.com/demo-warnings",
        label="ntfy",
        first_level=1,
        verified_at=timezone.now(),
        failing_since=timezone.now(),
        failing_error="push: HTTP 410",
    )
    return {
        "trusted_token": _trusted(user, message),
        "delivery_token": _delivered_link(user),
        "named_token": _named_link(user, message),
        "user": user,
        "project": project,
        "message": message,
        "checkin": links.checkin_token(message),
        "signup_token": signup_token(PendingSignup("new@example.com", "newcomer", "!", "UTC", "en")),
        "boss_app": give_totp(boss),  # the back office needs a second factor
    }


def _delivered_link(user) -> str:
    """A delivered message with a file, and the token of its recipient's page."""
    import io

    from django.utils import timezone

    from messaging import attachments, delivery_links, services
    from messaging.models import Delivery, DeliveryLink, Message

    now = timezone.now()
    left, _key = services.message_create(
        owner=user,
        title="For Sam",
        content="The spare key is with the neighbour at number 12.",
        initial_delay_months=1,
        recipients=[{"name": "Sam", "contact": "sam@example.com", "contact_type": "email"}],
    )
    attachments.attachment_add(message=left, stream=io.BytesIO(b"%PDF-1.4 a letter"), name="letter-for-sam.pdf")
    Message.objects.filter(pk=left.pk).update(state=Message.State.DELIVERED, delivered_at=now)
    delivery = Delivery.objects.create(
        message=left, recipient=left.recipients.get(), state=Delivery.State.SENT, delivered_at=now
    )
    _link, token = delivery_links.link_create(delivery=delivery, reason=DeliveryLink.Reason.DELIVERED, now=now)
    return token


def _trusted(user, message) -> str:
    """Trusted contacts: one confirmed with a request waiting, one not confirmed; the first one's token."""
    import secrets

    from messaging import trusted
    from messaging.models import AccessRequest, TrustedContact

    now = timezone.now()
    trusted.trusted_access_set(message=message, mode="recipients")
    token = secrets.token_urlsafe(32)
    tess = TrustedContact.objects.create(
        owner=user,
        name="Tess",
        email="tess@example.net",
        wait_days=7,
        token_hash=trusted.token_hash(token),
        verified_at=now,
    )
    TrustedContact.objects.create(
        owner=user, name="Tom", email="tom@example.net", wait_days=30, token_hash=trusted.token_hash("x" + token)
    )
    AccessRequest.objects.create(owner=user, contact=tess, requested_at=now, grant_at=now + timedelta(days=7))
    return token


def _named_link(user, message) -> str:
    """The confirm token of a "you are named" notice; and the message page's recipients in two of
    its states (one address refused, one confirmed), so both are on the walk."""
    from django.utils import timezone

    from messaging import services
    from messaging.models import NamedNotice, Recipient

    told, _key = services.message_create(
        owner=user,
        content="Told",
        initial_delay_months=1,
        recipients=[{"name": "Kim", "contact": "kim@example.com", "tell_named": True}],
    )
    first, *rest = message.recipients.order_by("pk")
    now = timezone.now()
    Recipient.objects.filter(pk=first.pk).update(
        tell_named=True, named_failed_at=now, named_failed_reason="e-mail: The mail server refused this address (550)."
    )
    Recipient.objects.filter(pk__in=[r.pk for r in rest]).update(
        tell_named=True, named_notice_sent_at=now, named_confirmed_at=now
    )
    return NamedNotice.objects.get(message=told).pending_token


def _reset_link(data: dict) -> list:
    user = data["user"]
    return [urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)]


# route name -> (who visits it, the URL arguments from the demo data)
PAGES = {
    "home": ("user", None),
    "accounts:signup": ("public", None),
    "accounts:signup_sent": ("public", None),
    "accounts:signup_confirm": ("public", lambda d: [d["signup_token"]]),
    "accounts:login": ("public", None),
    "accounts:password_reset": ("public", None),
    "accounts:password_reset_done": ("public", None),
    "accounts:password_reset_confirm": ("public", _reset_link),
    "accounts:password_reset_complete": ("public", None),
    "accounts:profile": ("user", None),
    "accounts:apikey_list": ("user", None),
    "accounts:password_change": ("user", None),
    "accounts:password_change_done": ("user", None),
    "ops:activity": ("user", None),
    "accounts:email_change": ("user", None),
    "accounts:email_verify": ("user", lambda d: [email_verification_token(d["user"])]),
    "accounts:email_change_confirm": ("user", lambda d: [email_change_token(d["user"], "demo@new.example")]),
    "accounts:two_factor": ("user", None),
    "accounts:totp_add": ("user", None),
    "accounts:reauth": ("user", None),
    # The second step needs a pending log-in: visited by staff, whose log-in goes through it.
    "accounts:login_verify": ("staff-login", None),
    "messaging:public_revoke": ("public", None),
    "messaging:message_list": ("user", None),
    "messaging:message_create": ("user", None),
    "messaging:message_detail": ("user", lambda d: [d["message"].pk]),
    "messaging:message_edit": ("user", lambda d: [d["message"].pk]),
    "messaging:message_action": ("user", lambda d: [d["message"].pk, "revoke"]),
    "messaging:reset_all": ("user", None),
    # The warning e-mail's link answers without a log-in (a logged-in owner's page: ALSO_PAGES).
    "messaging:checkin": ("public", lambda d: [d["checkin"]]),
    "messaging:checkin_revoke": ("public", lambda d: [d["checkin"]]),
    "messaging:ping_settings": ("user", None),
    "messaging:pause_settings": ("user", None),
    "messaging:owner_contacts": ("user", None),
    "messaging:message_pause": ("user", lambda d: [d["message"].pk]),
    "messaging:recipient_preview": ("user", lambda d: [d["message"].pk, d["message"].recipients.order_by("pk")[0].pk]),
    # The recipient's delivery page: no log-in, the token is the key.
    "delivery_page": ("public", lambda d: [d["delivery_token"]]),
    "messaging:trusted_contacts": ("user", None),
    "messaging:trusted_access": ("user", lambda d: [d["message"].pk]),
    # A trusted contact's page: no log-in, the token is the key (a confirmed contact with a request waiting).
    "trusted_page": ("public", lambda d: [d["trusted_token"]]),
    "messaging:named_confirm": ("public", lambda d: [d["named_token"]]),
    "publishing:project_list": ("user", None),
    "publishing:project_detail": ("user", lambda d: [d["project"].pk]),
    "publishing:task_list": ("user", None),
    "publishing:log_list": ("user", None),
    "publishing:calendar": ("user", None),
    "publishing:compose": ("user", None),
    "publishing:post_preview": ("user", lambda d: [d["project"].tasks.order_by("pk").last().pk]),
    "publishing:post_edit": ("user", lambda d: [d["project"].tasks.order_by("pk").last().pk]),
    "publishing:project_delete": ("user", lambda d: [d["project"].pk]),
    "publishing:source_edit": ("user", lambda d: [d["project"].sources.order_by("pk").first().pk]),
    "publishing:source_delete": ("user", lambda d: [d["project"].sources.order_by("pk").first().pk]),
    "analytics:dashboard": ("user", None),
    "analytics:project_detail": ("user", lambda d: [d["project"].pk]),
}


# Pages that look different to a second visitor, visited by them too.
ALSO_PAGES = [("messaging:checkin", ("user", lambda d: [d["checkin"]]))]


def _pages(data: dict, who: str) -> list[str]:
    return [
        reverse(name, args=args(data) if args else None)
        for name, (visitor, args) in [*PAGES.items(), *ALSO_PAGES]
        if visitor == who
    ]


def _admin_pages() -> list[str]:
    pages = [reverse("admin:index")]
    for model, model_admin in admin_site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(reverse("admin:{}_{}_changelist".format(*info)))
        first = model_admin.get_queryset(None).order_by("pk").first() if _lists_without_request(model_admin) else None
        if first is not None:
            pages.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    return pages


def _lists_without_request(model_admin) -> bool:
    try:
        model_admin.get_queryset(None)
    except AttributeError:
        return False
    return True


def _log_in(
    page, base: str, username: str, totp_device=None, problems: list[str] | None = None, console: list | None = None
) -> None:
    page.goto(f"{base}{reverse('accounts:login')}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()
    if totp_device is not None:
        # The second step's page, checked like the others before it is answered.
        page.wait_for_url(f"{base}{reverse('accounts:login_verify')}")
        problems += [f"[staff] {problem}" for problem in _check(page, page.url, console)]
        second_step(page, base, totp_device)
        page.wait_for_load_state()


def _watch_csp(page, base: str) -> list:
    """Serve axe from ``AXE_PATH`` and collect the console's CSP complaints (returned list)."""
    console: list[str] = []
    page.route(f"{base}{AXE_PATH}", lambda route: route.fulfill(body=AXE, content_type="text/javascript"))
    page.add_init_script(CSP_LISTENER)
    page.on("console", lambda message: console.append(message) if "Content Security Policy" in message.text else None)
    return console


def _csp_problems(page, url: str, console: list) -> list[str]:
    """What the CSP refused since the last call. axe itself adds a <style> while it checks
    colour contrast on some admin pages: that is the test's tool, not the page, and is the
    one thing let through (attributed to ``AXE_PATH`` by both the event and the console)."""
    events = [text for text in page.evaluate("window.__cspViolations || []") if f"{AXE_PATH}:" not in text]
    found = [f"{url}: CSP {text}" for text in events]
    found += [f"{url}: console: {m.text}" for m in console if not (m.location.get("url") or "").endswith(AXE_PATH)]
    console.clear()
    page.evaluate("window.__cspViolations = []")
    return found


def _problems(page, url: str, console: list) -> list[str]:
    response = page.goto(url)
    found = []
    if response is None or response.status >= 400:
        found.append(f"{url}: answered {response.status if response else 'nothing'}")
    if response is not None and "script-src 'self'" not in (response.headers.get("content-security-policy") or ""):
        found.append(f"{url}: no Content-Security-Policy with script-src 'self'")
    return found + _check(page, url, console)


def _words_problems(page, url: str) -> list[str]:
    """Doubled full stops on any page; on a Chinese page, English the catalogues translate."""
    texts = page.evaluate(VISIBLE_TEXT)
    found = [f"{url}: doubled full stop in {text!r}" for text in texts if DOUBLED_STOP.search(text)]
    if page.evaluate("document.documentElement.lang").lower().startswith("zh"):
        found += [f"{url}: untranslated {text!r}" for text in _untranslated(texts)]
    return found


def _check(page, url: str, console: list) -> list[str]:
    """Horizontal scrolling, the words, the CSP's refusals and axe-core on the page as it is now."""
    found = []
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if overflow > 0:
        culprits = page.evaluate(WIDEST)
        found.append(f"{url}: {overflow} px of horizontal scrolling (from {culprits})")
    found += _words_problems(page, url)
    page.wait_for_load_state("load")
    found += _csp_problems(page, url, console)  # the page's own resources, before axe runs
    page.add_script_tag(url=AXE_PATH)
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
            return result.violations.map(v => ({id: v.id, impact: v.impact,
                targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    found += [f"{url}: {v['impact']} {v['id']} at {v['targets']}" for v in violations if v["impact"] in SERIOUS]
    return found + _csp_problems(page, url, console)  # and none from axe's run either


def test_the_untranslated_check_knows_the_catalogues_english():
    """The check is real: a string of a template, of a form and of a model is in it."""
    assert {"Write a message", "Filter", "Revoke"} <= ENGLISH
    assert _untranslated(["Revoke", "Write a message", "撤销", "Retry task 7", "demo", "Cradle"]) == [
        "Retry task 7",
        "Revoke",
        "Write a message",
    ]
    assert (
        DOUBLED_STOP.search("at 4 p.m..") and not DOUBLED_STOP.search("Scan queued…") and not DOUBLED_STOP.search("...")
    )


def test_every_page_route_is_covered():
    missing = sorted(name for name in _route_names() if name.split(":")[-1] not in NOT_PAGES and name not in PAGES)
    assert missing == [], f"pages this test does not visit: {missing}"


@pytest.mark.one_database
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_fits_the_screen_and_passes_axe(live_server, page, language, width):
    data = _data()
    base = live_server.url
    problems: list[str] = []
    page.set_viewport_size({"width": width, "height": 900})
    console = _watch_csp(page, base)
    for who, paths in (("logged out", _pages(data, "public")), ("user", _pages(data, "user")), ("staff", None)):
        page.context.clear_cookies()
        page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
        if who != "logged out":
            if who == "user":
                _log_in(page, base, "demo")
            else:
                _log_in(page, base, "boss", data["boss_app"], problems, console)
            # The log-in sets the cookie to the account's own language: set it back, or the
            # signed-in pages of the Chinese walk would all be English.
            page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
        for path in paths if paths is not None else _admin_pages():
            problems += [f"[{who}] {problem}" for problem in _problems(page, f"{base}{path}", console)]
        if who == "user":
            problems += [f"[user] {problem}" for problem in _api_docs_problems(page, base, console)]
    assert problems == [], "\n".join(problems)


def _api_docs_problems(page, base: str, console: list) -> list[str]:
    """Swagger UI (drf-spectacular's page, not ours to make accessible) under the same CSP:
    it loads, draws the schema's operations, and nothing is refused."""
    url = f"{base}{reverse('api-docs')}"
    response = page.goto(url)
    found = [] if response and response.status == 200 else [f"{url}: answered {response and response.status}"]
    page.wait_for_selector(".opblock", timeout=15000)  # the start-up script ran and fetched the schema
    return found + _csp_problems(page, url, console)


@pytest.mark.one_database
@pytest.mark.django_db(transaction=True)
def test_the_walk_catches_a_template_string_left_untranslated(live_server, page):
    """A string the Chinese catalogue loses shows in English on the Chinese page, and the
    walk's check names it (the server runs in this process: its catalogue is patched here)."""
    from django.utils.translation import trans_real

    User.objects.create_user(username="demo", email="demo@example.com", password=PASSWORD, language="zh-hans")
    catalog = trans_real.translation("zh-hans")._catalog
    kept = catalog["Write a message"]
    catalog["Write a message"] = "Write a message"
    try:
        page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
        _log_in(page, live_server.url, "demo")
        page.goto(f"{live_server.url}{reverse('messaging:message_list')}")
        problems = _words_problems(page, "list")
    finally:
        catalog["Write a message"] = kept
    texts = page.evaluate(VISIBLE_TEXT)
    assert problems == ["list: untranslated 'Write a message'"], texts
    page.reload()
    assert _words_problems(page, "list") == []
