"""Every page that takes a POST, walked as a viewer and as an outsider: refused, nothing changed.

The routes come from the URL resolver, so a page added later fails
``test_it_classifies_every_page_route`` until it is put in exactly one table:

- ``WRITES``: pages that change the owner's data. A viewer (the owner, demoted) gets 403
  and an outsider gets 404 on the owner's objects; either way every row of every project
  model is unchanged. The owner's POST of the same body does change something, so the walk
  cannot pass by sending bodies that would have failed anyway.
- ``VIEWER_MAY``: what a viewer may still POST, each with its reason (cradle_site.roles says
  why in general). The viewer is not refused there; an outsider still gets 404 on the
  owner's objects.
- ``READS``: pages whose POST changes nothing for anyone (405, or served like a GET),
  proven by POSTing as the owner.

The admin (its own staff check) and the API (tests/site/test_api_write_walk.py) are walked
elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.email_verification import email_change_token, email_verification_token
from accounts.models import User
from tests.site.walk import (
    CONTACT_CODE,
    TELEGRAM_SECRET,
    World,
    build_world,
    changes,
    data_and_events,
    network_doubles,
    resolved_routes,
    snapshot,
)

pytestmark = pytest.mark.django_db

PASSWORD = "pw-alice-123!"  # the owner fixture's


def _message_form(**extra) -> dict:
    data = {
        "title": "For Sol",
        "content": "a changed plan",
        "initial_delay_months": "3",
        "recipients-TOTAL_FORMS": "1",
        "recipients-INITIAL_FORMS": "0",
        "recipients-MIN_NUM_FORMS": "1",
        "recipients-MAX_NUM_FORMS": "50",
        "recipients-0-name": "Sol",
        "recipients-0-contact_type": "email",
        "recipients-0-contact": "sol@example.com",
    }
    return data | extra


def _project_form(**extra) -> dict:
    return {"name": "Birds", "description": "", "daily_cap": "10", "duplicate_window_days": "7"} | extra


def _no_kwargs(w: World) -> dict:
    return {}


def _no_body(w: World) -> dict:
    return {}


@dataclass(frozen=True)
class Case:
    label: str
    kwargs: Callable[[World], dict] = _no_kwargs
    body: Callable[[World], dict] = _no_body
    # The URL names one of the owner's objects, so an outsider must get 404.
    owned: bool = True
    # Audit events the owner's POST writes: one per operation.
    events: int = 1
    # False for a POST that sends and stores nothing (the test warning): the owner's POST is
    # then proven by its one audit event, and no other row may change.
    changes: bool = True


WRITES: dict[str, list[Case]] = {
    "messaging:message_create": [Case("create", body=lambda w: _message_form(), owned=False)],
    "messaging:message_edit": [Case("edit", kwargs=lambda w: {"pk": w.message.pk}, body=lambda w: _message_form())],
    "messaging:message_action": [
        Case(action, kwargs=lambda w, action=action: {"pk": w.message.pk, "action": action})
        for action in ("reset", "continue", "revoke")
    ],
    # Regenerating changes the secret; showing it (do=show) changes nothing but is a writer's too.
    "messaging:recipient_secret": [
        Case(
            "regenerate",
            kwargs=lambda w: {"pk": w.message.pk, "recipient_pk": w.webhook_recipient.pk},
            body=lambda w: {"do": "regenerate"},
        )
    ],
    # "You are named": ask Rae again (the world's notice went out hours ago).
    "messaging:named_resend": [
        Case(
            "ask again",
            kwargs=lambda w: {"pk": w.message.pk, "recipient_pk": w.message.recipients.get(name="Rae").pk},
        )
    ],
    # One event per message reset: the world's owner has two (one of them paused).
    "messaging:reset_all": [Case("reset all", owned=False, events=2)],
    # The link's token is the authority (no log-in needed), so an outsider holding it answers
    # like anyone holding it (tests/messaging/test_checkin_link.py); a viewer's account changes nothing.
    "messaging:checkin": [
        Case(
            answer,
            kwargs=lambda w: {"token": w.checkin_token},
            body=lambda w, answer=answer: {"answer": answer},
            owned=False,
        )
        for answer in ("reset", "continue")
    ],
    "messaging:checkin_revoke": [
        Case("revoke", kwargs=lambda w: {"token": w.checkin_token}, body=lambda w: {"confirm": "yes"}, owned=False)
    ],
    "messaging:ping_settings": [Case("create", body=lambda w: {"do": "create"}, owned=False)],
    "messaging:pause_settings": [Case("pause all", body=lambda w: {"until": _in_days(3)}, owned=False)],
    "messaging:message_pause": [
        Case("pause one", kwargs=lambda w: {"pk": w.message.pk}, body=lambda w: {"until": _in_days(3)})
    ],
    "messaging:pause_end": [Case("end", kwargs=lambda w: {"pause_pk": w.pause.pk})],
    "messaging:owner_contact_add": [
        Case(
            "add",
            body=lambda w: {"kind": "email", "address": "alice.work@example.com", "first_level": "3"},
            owned=False,
        )
    ],
    "messaging:owner_contact_verify": [
        Case("verify", kwargs=lambda w: {"pk": w.contact.pk}, body=lambda w: {"code": CONTACT_CODE})
    ],
    "messaging:owner_contact_resend": [Case("resend", kwargs=lambda w: {"pk": w.contact.pk})],
    "messaging:owner_contact_level": [
        Case("level", kwargs=lambda w: {"pk": w.contact.pk}, body=lambda w: {"first_level": "5"})
    ],
    "messaging:owner_contact_remove": [Case("remove", kwargs=lambda w: {"pk": w.contact.pk})],
    "messaging:owner_contacts_test": [Case("test warning", owned=False, changes=False)],
    "messaging:attachment_upload": [
        Case("attach", kwargs=lambda w: {"pk": w.message.pk}, body=lambda w: {"file": _upload()})
    ],
    "messaging:attachment_remove": [
        Case("remove", kwargs=lambda w: {"pk": w.message.pk, "attachment_id": w.attachment.pk})
    ],
    "messaging:trusted_contacts": [
        Case("add", body=lambda w: {"name": "Ann", "email": "ann@example.net", "wait_days": "5"}, owned=False)
    ],
    "messaging:trusted_contact_remove": [Case("remove", kwargs=lambda w: {"pk": w.trusted_contact.pk})],
    "messaging:access_refuse": [Case("refuse", kwargs=lambda w: {"pk": w.access_request.pk})],
    "messaging:trusted_access": [
        Case("set", kwargs=lambda w: {"pk": w.message.pk}, body=lambda w: {"mode": "contact"})
    ],
    # The personal check-in URL: its token is the authority, the session is ignored.
    "ping": [Case("check in", kwargs=lambda w: {"token": w.ping_secret}, owned=False, events=2)],
    "ping_message": [
        Case("check in one", kwargs=lambda w: {"token": w.ping_secret, "message_id": w.message.pk}, owned=False)
    ],
    "publishing:project_list": [Case("create", body=lambda w: _project_form(), owned=False)],
    "publishing:project_detail": [
        Case("edit", kwargs=lambda w: {"pk": w.project.pk}, body=lambda w: _project_form(slot_interval_minutes="45"))
    ],
    "publishing:project_credentials": [
        Case(
            "set",
            kwargs=lambda w: {"pk": w.project.pk},
            body=lambda w: {
                "x_consumer_key": "ck-new",
                "x_consumer_secret": "cs-new",
                "x_access_token": "at-new",
                "x_access_token_secret": "ats-new",
            },
        ),
        Case("clear", kwargs=lambda w: {"pk": w.project.pk}, body=lambda w: {"clear": "1"}),
    ],
    "publishing:source_add": [
        Case(
            "add",
            kwargs=lambda w: {"pk": w.project.pk},
            body=lambda w: {"source_type": "local_folder", "path_or_identifier": w.new_folder()},
        )
    ],
    "publishing:source_scan": [Case("scan", kwargs=lambda w: {"pk": w.source.pk})],
    "publishing:project_archive": [
        Case("archive", kwargs=lambda w: {"pk": w.project.pk}, body=lambda w: {"archived": "1"})
    ],
    "publishing:project_delete": [
        Case("delete", kwargs=lambda w: {"pk": w.project.pk}, body=lambda w: {"confirm_name": w.project.name})
    ],
    "publishing:source_edit": [
        Case("edit", kwargs=lambda w: {"pk": w.source.pk}, body=lambda w: {"hashtags": "walked", "is_active": "on"})
    ],
    "publishing:source_delete": [
        Case("delete", kwargs=lambda w: {"pk": w.source.pk}, body=lambda w: {"waiting": "keep"})
    ],
    "publishing:drive_disconnect": [Case("disconnect", kwargs=lambda w: {"pk": w.project.pk})],
    "publishing:x_disconnect": [Case("disconnect", kwargs=lambda w: {"pk": w.project.pk})],
    # Against the walk's Bluesky double (tests.site.walk.network_doubles).
    "publishing:bluesky_connect": [
        Case(
            "connect",
            kwargs=lambda w: {"pk": w.project.pk},
            body=lambda w: {"handle": "alice.bsky.social", "app_password": "app-pass-1234"},
        )
    ],
    "publishing:account_disconnect": [
        Case("disconnect", kwargs=lambda w: {"pk": w.network_account.pk}, body=lambda w: {"confirm": "yes"})
    ],
    # As for a message's webhook secret: regenerating changes it; showing it changes nothing.
    "publishing:alert_webhook_secret": [
        Case("regenerate", kwargs=lambda w: {"pk": w.project.pk}, body=lambda w: {"do": "regenerate"})
    ],
    "publishing:alert_dismiss": [Case("dismiss", kwargs=lambda w: {"pk": w.project.pk, "alert_id": w.alert.pk})],
    "publishing:task_action": [
        Case("retry", kwargs=lambda w: {"pk": w.failed_task.pk, "action": "retry"}),
        Case("cancel", kwargs=lambda w: {"pk": w.task.pk, "action": "cancel"}),
        Case("change", kwargs=lambda w: {"pk": w.task.pk, "action": "change"}, body=lambda w: {"priority": "7"}),
        Case("post_anyway", kwargs=lambda w: {"pk": w.held_task.pk, "action": "post_anyway"}),
        Case("mark_posted", kwargs=lambda w: {"pk": w.held_task.pk, "action": "mark_posted"}),
        Case("evergreen", kwargs=lambda w: {"pk": w.published_task.pk, "action": "evergreen"}),
        Case("not_evergreen", kwargs=lambda w: {"pk": w.evergreen_task.pk, "action": "not_evergreen"}),
    ],
    # The project is in the body: an outsider's form names none of theirs (a form error).
    "publishing:compose": [
        Case(
            "queue",
            body=lambda w: {"project": w.project.pk, "post_count": "1", "text_0": "Walked post", "action": "save"},
            owned=False,
        )
    ],
    "publishing:post_edit": [
        Case(
            "edit",
            kwargs=lambda w: {"pk": w.task.pk},
            body=lambda w: {"post_count": "1", "text_0": "Edited in the walk", "action": "save"},
        )
    ],
    "publishing:post_delete": [Case("delete", kwargs=lambda w: {"pk": w.task.pk})],
    "publishing:post_duplicate": [Case("duplicate", kwargs=lambda w: {"pk": w.task.pk})],
    "publishing:calendar_move": [
        Case(
            "move",
            kwargs=lambda w: {"pk": w.task.pk},
            body=lambda w: {"at": (timezone.now() + timedelta(days=3)).replace(microsecond=0).isoformat()},
        )
    ],
}


def _upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("walk.pdf", b"%PDF-1.4 walked", content_type="application/pdf")


def _in_days(days: int) -> str:
    return (timezone.now() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class Allowed:
    reason: str
    case: Case
    changes: bool  # the viewer's POST is seen to take effect (else: it is only not refused)
    # Audit events it writes (None: one if it changes data, else not checked).
    events: int | None = None


def _signup_token() -> str:
    from accounts.signup import PendingSignup, signup_token

    return signup_token(PendingSignup("newbie@example.com", "newbie", "!", "UTC", "en"))


def _reset_link(w: World) -> dict:
    return {
        "uidb64": urlsafe_base64_encode(force_bytes(w.owner.pk)),
        "token": default_token_generator.make_token(w.owner),
    }


def _unverified_token(w: World) -> str:
    # The owner fixture is verified; a verification link works for an unverified address only.
    User.objects.filter(pk=w.owner.pk).update(email_verified_at=None)
    w.owner.refresh_from_db()
    return email_verification_token(w.owner)


VIEWER_MAY: dict[str, Allowed] = {
    "accounts:profile": Allowed(
        "their own time zone and language, not data the account owns",
        Case("profile", body=lambda w: {"time_zone": "Europe/Paris", "language": "en"}, owned=False),
        changes=True,
    ),
    "accounts:email_change": Allowed(
        "a link to a new address of their own (nothing changes until it is opened)",
        Case("email change", body=lambda w: {"email": "alice@example.org"}, owned=False),
        changes=False,
        events=1,  # the request is recorded; the address changes when the link is opened
    ),
    "accounts:email_change_confirm": Allowed(
        "the link sent to the new address: their own account's address",
        Case("confirm", kwargs=lambda w: {"token": email_change_token(w.owner, "alice@example.org")}, owned=False),
        changes=True,
    ),
    "accounts:email_verify": Allowed(
        "verifying their own address",
        Case("verify", kwargs=lambda w: {"token": _unverified_token(w)}, owned=False),
        changes=True,
    ),
    "accounts:email_verify_resend": Allowed(
        "a new link for their own address (none is sent once it is verified)", Case("resend", owned=False), False
    ),
    "accounts:language_set": Allowed(
        "the header's language switch; it also saves the profile's language",
        Case("language", body=lambda w: {"language": "zh-hans"}, owned=False),
        changes=True,
    ),
    "set_language": Allowed(
        "Django's language switch: a cookie only",
        Case("language", body=lambda w: {"language": "zh-hans"}, owned=False),
        False,
    ),
    "accounts:password_change": Allowed(
        "their own password",
        Case(
            "password",
            body=lambda w: {
                "old_password": PASSWORD,
                "new_password1": "a-new-long-pass-91",
                "new_password2": "a-new-long-pass-91",
            },
            owned=False,
        ),
        changes=True,
    ),
    "accounts:apikey_list": Allowed(
        "a key for their own account; the form offers a viewer read scopes only",
        Case("create key", body=lambda w: {"name": "reader", "permissions": ["messages:read"]}, owned=False),
        changes=True,
    ),
    "accounts:apikey_revoke": Allowed(
        "revoking their own key only takes access away",
        Case("revoke key", kwargs=lambda w: {"pk": w.api_key.pk}),
        changes=True,
    ),
    "messaging:public_revoke": Allowed(
        "the revocation key is the authority here, whoever holds it (no account needed)",
        Case("revoke by key", body=lambda w: {"key": w.revocation_key}, owned=False),
        changes=True,
    ),
    "accounts:logout": Allowed("logging out", Case("logout", owned=False), changes=False),
    "delivery_renew": Allowed(
        "a recipient's 'send me a new link': the link's token is the authority, whoever the owner is now "
        "(the new link goes to the recipient's own address)",
        Case("renew", kwargs=lambda w: {"token": w.delivery_token}, owned=False),
        changes=True,
    ),
    "trusted_page": Allowed(
        "a trusted contact's 'Confirm': the token in the link is the authority, not the session",
        Case("confirm", kwargs=lambda w: {"token": w.trusted_new_token}, owned=False),
        changes=True,
    ),
    "trusted_request": Allowed(
        "a trusted contact's 'Request access': the token is the authority (the owner is told and may refuse)",
        Case("request", kwargs=lambda w: {"token": w.trusted_token}, owned=False),
        changes=True,
    ),
    "trusted_pause": Allowed(
        "a trusted contact's one pause: the token is the authority (the owner is told)",
        Case("pause", kwargs=lambda w: {"token": w.trusted_token}, owned=False),
        changes=True,
    ),
    "messaging:named_confirm": Allowed(
        "a recipient's 'this address works': the notice's token is the authority, no account",
        Case("confirm", kwargs=lambda w: {"token": w.named_token}, owned=False),
        changes=True,
    ),
    "telegram_webhook": Allowed(
        "Telegram's updates for the bot: the webhook's secret and the /start token are the authority, no account",
        Case(
            "start",
            kwargs=lambda w: {"secret": TELEGRAM_SECRET},
            body=lambda w: w.telegram_update(),
            owned=False,
        ),
        changes=True,
    ),
    "accounts:login": Allowed(
        "logging in (a signed-in person is sent on)",
        Case("login", body=lambda w: {"username": w.owner.username, "password": PASSWORD}, owned=False),
        changes=False,
    ),
    "accounts:signup": Allowed(
        "signing up is for visitors (a signed-in person is sent home)", Case("signup", owned=False), False
    ),
    "accounts:signup_confirm": Allowed(
        "the sign-up's confirm link is for visitors (a signed-in person is sent home)",
        Case(
            "confirm", kwargs=lambda w: {"token": _signup_token()}, body=lambda w: {"username": "newbie"}, owned=False
        ),
        False,
    ),
    "accounts:password_reset": Allowed(
        "asking for a reset mail for an address",
        Case("reset", body=lambda w: {"email": w.owner.email}, owned=False),
        False,
    ),
    "accounts:password_reset_confirm": Allowed(
        "the reset link is the authority for a new password", Case("confirm", kwargs=_reset_link, owned=False), False
    ),
    # Two-factor settings concern only the account's own log-in (accounts.mfa_views).
    "accounts:totp_add": Allowed(
        "their own authenticator app (a wrong code leaves the device unconfirmed)",
        Case("totp", body=lambda w: {"code": "000000"}, owned=False),
        changes=True,
        events=0,  # an unconfirmed device is a step: "two-factor on" is recorded when a code confirms it
    ),
    "accounts:passkey_add_options": Allowed(
        "a challenge for their own passkey, kept in the session", Case("passkey options", owned=False), False
    ),
    "accounts:recovery_regenerate": Allowed(
        "their own recovery codes (none without a factor)", Case("recovery codes", owned=False), False
    ),
    "accounts:factor_remove": Allowed(
        "removing one of their own factors (another's is not found)",
        Case("remove", kwargs=lambda w: {"kind": "totp", "pk": 1}, owned=False),
        False,
    ),
}


@dataclass(frozen=True)
class Read:
    kwargs: Callable[[World], dict] = field(default=_no_kwargs)


READS: dict[str, Read] = {
    "home": Read(),
    "healthz": Read(),
    "favicon": Read(),
    "messaging:message_list": Read(),
    "messaging:message_detail": Read(lambda w: {"pk": w.message.pk}),
    "messaging:projection": Read(),
    "messaging:attachment_download": Read(lambda w: {"pk": w.message.pk, "attachment_id": w.attachment.pk}),
    # The recipient's delivery page and its files: GET only (a POST is 405 and opens nothing).
    "delivery_page": Read(lambda w: {"token": w.delivery_token}),
    "delivery_file": Read(lambda w: {"token": w.delivery_token, "attachment_id": w.delivered_attachment.pk}),
    "messaging:owner_contacts": Read(),
    "messaging:recipient_preview": Read(
        lambda w: {"pk": w.message.pk, "recipient_pk": w.message.recipients.first().pk}
    ),
    "accounts:password_change_done": Read(),
    "ops:activity": Read(),
    "ops:activity_csv": Read(),
    "accounts:password_reset_done": Read(),
    "accounts:signup_sent": Read(),
    "accounts:password_reset_complete": Read(),
    "publishing:task_list": Read(),
    "publishing:log_list": Read(),
    "publishing:calendar": Read(),
    "publishing:post_preview": Read(lambda w: {"pk": w.task.pk}),
    # A POST that only renders the template as typed (the source page's live preview).
    "publishing:source_template_preview": Read(lambda w: {"pk": w.source.pk}),
    "publishing:media_file": Read(lambda w: {"path": "cat.png"}),
    "publishing:source_scan_status": Read(lambda w: {"pk": w.source.pk}),
    # Connect changes only the session (a state for Google's answer); the callback writes,
    # and only with that session's state (tests/publishing/test_drive_oauth.py walks both).
    "publishing:drive_connect": Read(lambda w: {"pk": w.project.pk}),
    "publishing:drive_callback": Read(),
    # The same for X (tests/publishing/test_x_oauth.py).
    "publishing:x_connect": Read(lambda w: {"pk": w.project.pk}),
    "publishing:x_callback": Read(),
    # The same for Mastodon (tests/publishing/test_network_connect.py): connect registers this
    # site's app on the instance (site data, not the owner's) and keeps a state in the session.
    "publishing:mastodon_connect": Read(lambda w: {"pk": w.project.pk}),
    "publishing:mastodon_callback": Read(),
    "analytics:dashboard": Read(),
    "analytics:project_detail": Read(lambda w: {"pk": w.project.pk}),
    "analytics:project_export": Read(lambda w: {"pk": w.project.pk}),
    "analytics:publishing_export": Read(),
    "analytics:messages_export": Read(),
    # The second step without a pending log-in sends back to the password step; re-authentication
    # and a passkey's answer change nothing without the right password or the browser's answer
    # to a fresh challenge (tests/accounts/test_mfa.py, tests/browser/test_passkeys.py).
    "accounts:login_verify": Read(),
    "accounts:login_passkey_options": Read(),
    "accounts:login_passkey_verify": Read(),
    "accounts:two_factor": Read(),
    "accounts:passkey_add_verify": Read(),
    "accounts:recovery_codes_new": Read(),
    "accounts:reauth": Read(),
    "accounts:reauth_passkey_options": Read(),
    "accounts:reauth_passkey_verify": Read(),
}


def _page_route_names() -> set[str]:
    names = set()
    for name, route, _callback in resolved_routes():
        if route.startswith(("admin/", "api/")):
            continue
        names.add(name)
    return names


def _cases(table: dict[str, list[Case]]) -> list:
    return [pytest.param(name, case, id=f"{name}:{case.label}") for name, cases in table.items() for case in cases]


WRITE_CASES = _cases(WRITES)
OWNED_CASES = [param for param in WRITE_CASES if param.values[1].owned] + [
    pytest.param(name, allowed.case, id=f"{name}:{allowed.case.label}")
    for name, allowed in VIEWER_MAY.items()
    if allowed.case.owned
]


@pytest.fixture
def world(owner, other_user, tmp_path, settings) -> Iterator[World]:
    root = (tmp_path / "media").resolve()
    media_root = root / str(owner.pk)  # the owner's own folder (publishing.folders)
    media_root.mkdir(parents=True)
    settings.PUBLISHING_LOCAL_ROOTS = [root]
    settings.PUBLISHING_GOOGLE_OAUTH_REVOKE_URL = (
        "http://127.0.0.1:9/revoke"  # disconnect's best effort: refused at once
    )
    cache.clear()  # the check-in page's rate limit counts across tests otherwise
    settings.TELEGRAM_WEBHOOK_SECRET = TELEGRAM_SECRET
    with network_doubles(settings) as (mastodon, _bluesky):
        world = build_world(owner, other_user, media_root)
        world.mastodon_url = mastodon.url
        yield world


def _as(client, user: User, *, role: str | None = None):
    if role is not None:
        user.role = role
        user.save()
    client.force_login(user)  # before the snapshot: logging in writes last_login
    return client


def _post(client, name: str, case: Case, w: World):
    body = case.body(w)
    if isinstance(body, str):  # a JSON body, as a webhook's caller sends it
        return client.post(reverse(name, kwargs=case.kwargs(w)), body, content_type="application/json")
    return client.post(reverse(name, kwargs=case.kwargs(w)), body)


def test_it_classifies_every_page_route():
    tables = [set(WRITES), set(VIEWER_MAY), set(READS)]
    assert sum(len(t) for t in tables) == len(set().union(*tables)), "a route is in more than one table"
    assert _page_route_names() == set().union(*tables), "a page route is missing from the walk's tables, or gone"


@pytest.mark.parametrize(("name", "case"), WRITE_CASES)
def test_a_viewer_is_refused_and_nothing_changes(client, world, name, case):
    viewer = _as(client, world.owner, role=User.Role.VIEWER)
    before = snapshot()
    response = _post(viewer, name, case, world)
    assert response.status_code == 403
    assert changes(before, snapshot()) == {}


@pytest.mark.parametrize(("name", "case"), OWNED_CASES)
def test_an_outsider_gets_404_and_nothing_changes(client, world, name, case):
    outsider = _as(client, world.outsider)
    before = snapshot()
    response = _post(outsider, name, case, world)
    assert response.status_code == 404
    assert changes(before, snapshot()) == {}


@pytest.mark.parametrize(("name", "case"), WRITE_CASES)
def test_the_owner_posting_the_same_body_changes_something(client, world, name, case):
    # The proof that the walk's bodies would succeed: without it a refused POST and a
    # POST with a broken body would look the same.
    # And the audit log's Must-hold (issue 17): the operation wrote exactly one event.
    owner = _as(client, world.owner)
    before = snapshot()
    response = _post(owner, name, case, world)
    assert response.status_code in (200, 302), response.content[:500]
    data, events = data_and_events(before, snapshot())
    assert (data != {}) is case.changes, data
    assert len(events) == case.events, f"{name}:{case.label} wrote {events}"


@pytest.mark.parametrize("name", list(VIEWER_MAY))
def test_a_viewer_may_post_what_concerns_only_their_account(client, world, name):
    allowed = VIEWER_MAY[name]
    viewer = _as(client, world.owner, role=User.Role.VIEWER)
    before = snapshot()
    response = _post(viewer, name, allowed.case, world)
    assert response.status_code in (200, 302), response.content[:500]
    data, events = data_and_events(before, snapshot())
    if allowed.changes:
        assert data != {}
    expected = (1 if allowed.changes else None) if allowed.events is None else allowed.events
    if expected is not None:
        assert len(events) == expected, f"{name} wrote {events}"  # one audit event per operation (issue 17)


@pytest.mark.parametrize("name", list(READS))
@pytest.mark.parametrize("role", [User.Role.EDITOR, User.Role.VIEWER])
def test_a_post_to_a_read_page_changes_nothing(client, world, name, role):
    reader = _as(client, world.owner, role=role)
    before = snapshot()
    response = reader.post(reverse(name, kwargs=READS[name].kwargs(world)), {"name": "x", "answer": "reset"})
    assert response.status_code != 500  # healthz answers 503 here: no job cluster runs in tests
    assert changes(before, snapshot()) == {}
