"""The check-in link of a warning e-mail, answered without a log-in (messaging.links, checkin_views).

The link names one warning step of one message; GET changes nothing; a POST answers once;
the page never shows the message's content, title or recipients.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.db import OperationalError
from django.urls import reverse

from messaging import links, services
from messaging.models import CheckinLinkUse, Message, StatusLog
from messaging.views import BUSY_TEXT
from tests.messaging.test_answer_busy import DEADLOCK
from tests.site.walk import changes, snapshot

pytestmark = pytest.mark.django_db

RECIPIENTS = [
    {"name": "Rae Quill", "contact": "rae.quill@example.com", "contact_type": "email"},
    {"name": "Hook Bay", "contact": "https://hooks.example.com/bay", "contact_type": "webhook"},
]
SECRETS = ("the secret plan", "My private title", "Rae Quill", "rae.quill@example.com", "Hook Bay", "hooks.example.com")


@pytest.fixture(autouse=True)
def _fresh_limits():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def other_client(client, other_user):
    client.force_login(other_user)
    return client


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def warned(owner, make_message):
    """A message whose first warning is out, and the link that warning e-mail carried."""
    message = make_message(owner, level=1, title="My private title", recipients=RECIPIENTS)
    return message, reverse("messaging:checkin", args=[links.checkin_token(message)])


def _no_secret_in(html: str) -> None:
    for secret in SECRETS:
        assert secret not in html, secret


def test_it_shows_the_answers_and_changes_nothing_on_get(client, warned):
    message, url = warned
    before = snapshot()
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="reset"' in html and 'value="continue"' in html
    assert reverse("messaging:checkin_revoke", args=[url.split("/")[-2]]) in html
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "same-origin"
    assert changes(before, snapshot()) == {}
    # The revoke page asks first: its GET changes nothing either.
    assert client.get(url + "revoke/").status_code == 200
    assert changes(before, snapshot()) == {}


def test_it_never_shows_content_title_or_recipients(client, warned):
    _message, url = warned
    for page in (client.get(url), client.get(url + "revoke/"), client.post(url, {"answer": "continue"})):
        _no_secret_in(page.content.decode())
    _no_secret_in(client.post(url, {"answer": "reset"}).content.decode())  # used: the "already used" page


def test_a_reset_through_it_works_logged_out_and_the_history_says_how(client, warned):
    message, url = warned
    response = client.post(url, {"answer": "reset"})
    assert response.status_code == 200 and response.context["done"] == "reset"
    message.refresh_from_db()
    assert message.warning_level == 0
    log = StatusLog.objects.get()
    assert log.response == "RESET" and log.data["actor"] == {"kind": "checkin_link"}
    assert "check-in link" in log.display_text


def test_continue_is_offered_only_while_a_warning_is_out(client, owner, make_message):
    message = make_message(owner)  # level 0: no warning to acknowledge
    url = reverse("messaging:checkin", args=[links.checkin_token(message)])
    assert 'value="continue"' not in client.get(url).content.decode()
    assert client.post(url, {"answer": "continue"}).status_code == 409
    assert not StatusLog.objects.exists()


def test_a_used_link_is_refused_after_continue_and_after_reset(client, warned):
    message, url = warned
    assert client.post(url, {"answer": "continue"}).status_code == 200
    assert CheckinLinkUse.objects.filter(message=message).count() == 1
    again = client.post(url, {"answer": "continue"})
    assert again.status_code == 409 and again.context["problem"] == "used"
    assert client.post(url, {"answer": "reset"}).status_code == 409
    assert client.post(url + "revoke/", {"confirm": "yes"}).status_code == 409
    assert list(StatusLog.objects.values_list("status", flat=True)) == ["CONTINUED"]
    message.refresh_from_db()
    assert message.warning_level == 1 and message.state == "active"


def test_a_link_resent_for_the_same_warning_is_spent_with_the_first(client, warned):
    message, url = warned
    with time_machine.travel(timedelta(minutes=5)):  # the e-mail sent again after a relay error
        second = reverse("messaging:checkin", args=[links.checkin_token(message)])
    assert second != url
    assert client.post(url, {"answer": "continue"}).status_code == 200
    assert client.post(second, {"answer": "continue"}).status_code == 409
    assert StatusLog.objects.count() == 1


def test_the_link_of_an_old_warning_is_refused_once_the_next_went_out(client, warned):
    message, url = warned
    Message.objects.filter(pk=message.pk).update(warning_level=2)  # warning 2 went out
    shown = client.get(url)
    assert shown.status_code == 200 and shown.context["problem"] == "stale"
    assert 'value="reset"' not in shown.content.decode()
    for body in ({"answer": "reset"}, {"answer": "continue"}):
        response = client.post(url, body)
        assert response.status_code == 409 and response.context["problem"] == "stale"
    assert client.post(url + "revoke/", {"confirm": "yes"}).status_code == 409
    assert not StatusLog.objects.exists()
    message.refresh_from_db()
    assert message.warning_level == 2 and message.state == "active"


def test_the_link_of_an_ended_cycle_is_refused_even_at_the_same_level(client, warned):
    message, url = warned
    services.message_reset(message=message)
    Message.objects.filter(pk=message.pk).update(warning_level=1)  # the new cycle's warning 1
    assert client.post(url, {"answer": "continue"}).status_code == 409
    assert StatusLog.objects.count() == 1  # the reset only


def test_an_expired_link_is_refused(client, warned, settings):
    settings.MESSAGING_CHECKIN_MAX_AGE_DAYS = 10
    message, url = warned
    with time_machine.travel(timedelta(days=11)):
        response = client.post(url, {"answer": "reset"})
        assert response.status_code == 400 and "expired" in response.content.decode()
    assert not StatusLog.objects.exists()


def test_a_token_of_another_message_answers_only_that_message(client, owner, make_message, warned):
    message, url = warned
    other = make_message(owner, level=1)
    token = links.checkin_token(other)
    # The other message's token, its payload moved to the first message: the signature breaks.
    _payload, _sep, stamp_and_signature = token.partition(":")
    moved = {"m": message.pk, "l": 1, "c": links._cycle_of(other)}
    forged = signing.b64_encode(json.dumps(moved, separators=(",", ":")).encode()).decode() + ":" + stamp_and_signature
    assert client.post(reverse("messaging:checkin", args=[forged]), {"answer": "reset"}).status_code == 400
    # The other message's own link answers the other message, whatever the body names.
    other_url = reverse("messaging:checkin", args=[token])
    assert client.post(other_url, {"answer": "reset", "message": message.pk}).status_code == 200
    message.refresh_from_db()
    other.refresh_from_db()
    assert message.warning_level == 1 and other.warning_level == 0
    assert list(StatusLog.objects.values_list("message_id", flat=True)) == [other.pk]


def test_revoking_through_it_asks_first_and_is_a_post(client, warned):
    message, url = warned
    assert client.post(url + "revoke/", {}).status_code == 400  # no confirmation: nothing done
    message.refresh_from_db()
    assert message.state == "active"
    response = client.post(url + "revoke/", {"confirm": "yes"})
    assert response.status_code == 200 and response.context["done"] == "revoke"
    message.refresh_from_db()
    assert message.state == "revoked"
    assert StatusLog.objects.get().data["actor"] == {"kind": "checkin_link"}


def test_an_answer_the_services_refuse_is_a_page_not_an_error(client, warned):
    message, url = warned
    Message.objects.filter(pk=message.pk).update(state="delivering")
    response = client.post(url, {"answer": "reset"})
    assert response.status_code == 409 and response.context["problem"] == "over"


def test_a_junk_answer_is_a_400_and_changes_nothing(client, warned):
    _message, url = warned
    assert client.post(url, {"answer": "revoke"}).status_code == 400  # revoking has its own page
    assert client.post(url, {}).status_code == 400
    assert not StatusLog.objects.exists()


def test_a_logged_in_outsider_holding_the_link_is_just_a_holder(other_client, warned):
    message, url = warned
    page = other_client.get(url)
    assert page.status_code == 200 and "My private title" not in page.content.decode()
    assert other_client.post(url, {"answer": "reset"}).status_code == 200
    assert StatusLog.objects.get().data["actor"] == {"kind": "checkin_link"}


def test_the_logged_in_owner_keeps_the_full_page(owner_client, warned):
    message, url = warned
    page = owner_client.get(url)
    assert page.status_code == 200 and "My private title" in page.content.decode()
    response = owner_client.post(url, {"answer": "reset"})
    assert response.status_code == 302 and response["Location"] == reverse(
        "messaging:message_detail", args=[message.pk]
    )
    assert StatusLog.objects.get().data["actor"] == {"kind": "owner"}


@pytest.mark.parametrize("change", [{"role": "viewer"}, {"is_active": False}])
def test_a_viewer_or_disabled_owner_cannot_answer_through_the_link(client, owner, warned, change):
    message, url = warned
    for field, value in change.items():
        setattr(owner, field, value)
    owner.save()
    assert client.post(url, {"answer": "reset"}).status_code == 403
    assert not StatusLog.objects.exists()


def test_invalid_links_are_rate_limited(client, warned, settings):
    settings.RATE_LIMIT_CHECKIN = (3, 300)
    _message, url = warned
    for _ in range(3):
        assert client.get(reverse("messaging:checkin", args=["junk"])).status_code == 400
    limited = client.get(url)
    assert limited.status_code == 429 and "Retry-After" in limited


def test_a_busy_database_says_try_again_and_spends_nothing(client, warned, monkeypatch):
    message, url = warned

    def lose(locked):  # after the link's guard recorded its use: the whole answer rolls back
        raise OperationalError(*DEADLOCK)

    monkeypatch.setattr(services, "_refuse_during_send", lose)
    response = client.post(url, {"answer": "reset"})
    assert response.status_code == 503 and response["Retry-After"]
    assert str(BUSY_TEXT) in response.content.decode()
    assert not CheckinLinkUse.objects.exists() and not StatusLog.objects.exists()
    monkeypatch.undo()
    assert client.post(url, {"answer": "reset"}).status_code == 200  # the link still works


def test_a_link_mailed_before_links_were_bound_opens_for_the_owner_only(client, owner, warned):
    message, _url = warned
    old = signing.TimestampSigner(salt=links.SALT_V1).sign_object({"m": message.pk, "u": owner.pk})
    url = reverse("messaging:checkin", args=[old])
    shown = client.get(url)
    assert shown.status_code == 200 and shown.context["problem"] == "stale"
    assert client.post(url, {"answer": "reset"}).status_code == 409
    assert not StatusLog.objects.exists()
    client.force_login(owner)
    assert client.post(url, {"answer": "reset"}).status_code == 302  # the owner's page, as before
    assert StatusLog.objects.get().data["actor"] == {"kind": "owner"}
