"""Pages by persona: the owner writes and answers; another user sees none of it; anyone with the key revokes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.urls import reverse

from messaging import links, services
from messaging.models import Message, StatusLog
from tests.clock import NOW
from tests.messaging.page_forms import HOOK, RAE, message_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def other_client(client, other_user):
    client.force_login(other_user)
    return client


def _form(**extra) -> dict:
    return message_form(content="the secret plan", months=2, recipients=(RAE, HOOK), **extra)


def test_it_creates_a_message_and_shows_the_revocation_key_once(owner_client, owner):
    response = owner_client.post(reverse("messaging:message_create"), _form())
    assert response.status_code == 200
    key = response.context["revocation_key"]
    assert key in response.content.decode()
    message = Message.objects.get(owner=owner)
    assert message.recipients.count() == 2
    assert message.revocation_key_hash == services.revocation_key_hash(key)
    assert key not in owner_client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()


def test_bad_recipients_are_form_errors_not_500s(owner_client, settings):
    settings.MESSAGING_SMS_GATEWAY = ""
    response = owner_client.post(
        reverse("messaging:message_create"),
        _form(
            **{
                "recipients-1-contact_type": "sms",
                "recipients-1-contact": "+14155550123",
                "recipients-0-contact": "nope",
            }
        ),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter a valid e-mail address." in page
    assert "SMS is not available on this server" in page
    assert not Message.objects.exists()


def test_the_list_shows_status_and_its_queries_do_not_grow(
    owner_client, owner, make_message, django_assert_max_num_queries
):
    for _ in range(3):
        make_message(owner)
    with django_assert_max_num_queries(8):
        owner_client.get(reverse("messaging:message_list"))
    for _ in range(10):
        make_message(owner)
    with django_assert_max_num_queries(8):
        response = owner_client.get(reverse("messaging:message_list"))
    assert len(response.context["items"]) == 13


def test_the_detail_shows_the_schedule_and_the_timeline(owner_client, owner, make_message):
    message = make_message(owner, months=1, level=1)
    services.message_continue(message=message)
    response = owner_client.get(reverse("messaging:message_detail", args=[message.pk]))
    assert [s.step for s in response.context["schedule"]] == [2, 3, 4, 5, 6]  # warning 1 is out
    assert "continue" in response.content.decode()
    assert "the secret plan" in response.content.decode()


def test_the_owner_edits_recipients(owner_client, owner, make_message):
    message = make_message(owner)
    data = _form(
        **{"recipients-TOTAL_FORMS": "1", "recipients-0-name": "Sol", "recipients-0-contact": "sol@example.com"}
    )
    response = owner_client.post(reverse("messaging:message_edit", args=[message.pk]), data)
    assert response.status_code == 302
    assert list(message.recipients.values_list("name", flat=True)) == ["Sol"]
    message.refresh_from_db()
    assert message.content == "the secret plan" and message.initial_delay_months == 2


@pytest.mark.parametrize("action", ["reset", "continue", "revoke"])
def test_answers_are_posts_and_a_get_changes_nothing(owner_client, owner, make_message, action):
    message = make_message(owner, level=1)
    url = reverse("messaging:message_action", args=[message.pk, action])
    assert owner_client.get(url).status_code == 200
    assert not StatusLog.objects.exists()
    assert owner_client.post(url).status_code == 302
    expected = {"reset": "WARNING_RESET", "continue": "CONTINUED", "revoke": "REVOKED"}[action]
    assert list(StatusLog.objects.values_list("status", flat=True)) == [expected]


def test_another_user_cannot_see_edit_answer_or_revoke(other_client, owner, make_message):
    message = make_message(owner)
    assert other_client.get(reverse("messaging:message_detail", args=[message.pk])).status_code == 404
    assert other_client.get(reverse("messaging:message_edit", args=[message.pk])).status_code == 404
    assert other_client.post(reverse("messaging:message_edit", args=[message.pk]), _form()).status_code == 404
    for action in ("reset", "continue", "revoke"):
        assert other_client.post(reverse("messaging:message_action", args=[message.pk, action])).status_code == 404
    assert "For Rae" not in other_client.get(reverse("messaging:message_list")).content.decode()
    # A check-in link made for the owner's message: another account sees only what any
    # holder of the link sees (tests/messaging/test_checkin_link.py), never the title.
    url = reverse("messaging:checkin", args=[links.checkin_token(message)])
    page = other_client.get(url).content.decode()
    assert "the secret plan" not in page and "rae@example.com" not in page
    assert not StatusLog.objects.exists()
    message.refresh_from_db()
    assert message.state == "active"


def test_the_checkin_link_shows_on_get_and_answers_on_post(owner_client, owner, make_message):
    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(warning_level=3)
    url = reverse("messaging:checkin", args=[links.checkin_token(message)])
    response = owner_client.get(url)
    assert response.status_code == 200 and not StatusLog.objects.exists()
    assert owner_client.post(url, {"answer": "reset"}).status_code == 302
    message.refresh_from_db()
    assert message.warning_level == 0
    assert StatusLog.objects.get().response == "RESET"


def test_the_checkin_link_answers_logged_out_too(client, owner, make_message):
    message = make_message(owner, level=1)
    url = reverse("messaging:checkin", args=[links.checkin_token(message)])
    response = client.post(url, {"answer": "reset"})
    assert response.status_code == 200 and response.context["done"] == "reset"
    assert StatusLog.objects.get().data["actor"] == {"kind": "checkin_link"}


def test_a_tampered_or_forged_link_is_refused_clearly(owner_client, owner, make_message, other_user):
    message = make_message(owner)
    token = links.checkin_token(message)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = owner_client.get(reverse("messaging:checkin", args=[tampered]))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    # Signed with the wrong salt (e.g. another feature's token): refused too.
    forged = signing.TimestampSigner(salt="other").sign_object({"m": message.pk, "l": 0, "c": 0})
    assert owner_client.post(reverse("messaging:checkin", args=[forged]), {"answer": "reset"}).status_code == 400
    assert not StatusLog.objects.exists()


def test_an_expired_link_is_refused_clearly(owner_client, owner, make_message, settings):
    settings.MESSAGING_CHECKIN_MAX_AGE_DAYS = 10
    message = make_message(owner)
    token = links.checkin_token(message)
    with time_machine.travel(timedelta(days=11)):
        response = owner_client.post(reverse("messaging:checkin", args=[token]), {"answer": "reset"})
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert not StatusLog.objects.exists()


def test_anyone_with_the_key_revokes_on_the_public_page(client, owner):
    message, key = services.message_create(
        owner=owner,
        content="x",
        initial_delay_months=1,
        recipients=[{"name": "R", "contact": "r@example.com", "contact_type": "email"}],
    )
    url = reverse("messaging:public_revoke")
    assert client.get(url).status_code == 200
    assert client.post(url, {"key": "wrong"}).status_code == 400
    response = client.post(url, {"key": key})
    assert response.status_code == 200 and response.context["done"]
    message.refresh_from_db()
    assert message.state == "revoked"
    assert message.status_logs.get().details == "revoked with the revocation key"
    again = client.post(url, {"key": key})
    assert again.status_code == 200 and "already revoked" in again.content.decode()
    assert message.status_logs.count() == 1


def test_the_key_of_a_delivered_message_gets_a_plain_answer_not_no_such_key(client, owner):
    message, key = services.message_create(
        owner=owner,
        content="x",
        initial_delay_months=1,
        recipients=[{"name": "R", "contact": "r@example.com", "contact_type": "email"}],
    )
    Message.objects.filter(pk=message.pk).update(state="delivered", is_active=False)
    response = client.post(reverse("messaging:public_revoke"), {"key": key})
    assert response.status_code == 400
    assert "already been delivered" in response.content.decode()
    assert "No message" not in response.content.decode()


def test_the_public_revoke_page_is_rate_limited(client, owner, settings):
    from django.core.cache import cache

    cache.clear()
    settings.RATE_LIMIT_REVOKE = (3, 300)
    url = reverse("messaging:public_revoke")
    codes = [client.post(url, {"key": f"guess-{i}"}).status_code for i in range(5)]
    assert codes == [400, 400, 400, 429, 429]
    cache.clear()


def test_the_pages_speak_simplified_chinese(client, owner, make_message):
    owner.language = "zh-hans"
    owner.save()
    message = make_message(owner)
    client.force_login(owner)
    client.cookies["django_language"] = "zh-hans"
    assert "我的留言" in client.get(reverse("messaging:message_list")).content.decode()
    page = client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    assert "时间表" in page and "发送给所有接收人" in page


def test_an_untouched_spare_recipient_row_is_skipped_not_an_error(owner_client, owner):
    form = _form(**{"recipients-1-name": "", "recipients-1-contact": "", "recipients-1-contact_type": "email"})
    response = owner_client.post(reverse("messaging:message_create"), form)
    assert response.status_code == 200 and "revocation_key" in response.context
    assert list(Message.objects.get(owner=owner).recipients.values_list("name", flat=True)) == ["Rae"]


def test_a_revoked_message_says_it_will_never_be_delivered(owner_client, owner, make_message):
    message = make_message(owner)
    services.message_revoke(message=message)
    page = owner_client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    assert "This message will never be delivered." in page
    assert "If you never answer, delivery comes" not in page


def test_removing_every_recipient_says_so_in_plain_words(owner_client, owner, make_message):
    message = make_message(owner)
    form = _form(
        **{
            "recipients-TOTAL_FORMS": "2",
            "recipients-INITIAL_FORMS": "1",
            "recipients-0-DELETE": "on",
            "recipients-1-name": "",
            "recipients-1-contact_type": "email",
            "recipients-1-contact": "",
        }
    )
    response = owner_client.post(reverse("messaging:message_edit", args=[message.pk]), form)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Name at least one recipient." in page and "submit at least" not in page
    assert message.recipients.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 300])
def test_a_revocation_key_the_form_refuses_is_a_400(client, key):
    response = client.post(reverse("messaging:public_revoke"), {"key": key})
    assert response.status_code == 400 and response.context["form"].errors["key"]


def test_the_edit_page_says_when_a_new_delay_waits_for_the_next_reset(owner_client, owner, make_message):
    message = make_message(owner)
    url = reverse("messaging:message_edit", args=[message.pk])
    assert 'id="delay-note"' not in owner_client.get(url).content.decode()  # level 0: applies at once
    Message.objects.filter(pk=message.pk).update(warning_level=2)
    page = owner_client.get(url).content.decode()
    assert "Warning 2 of 5 has been sent: a new delay or warning schedule applies from your next reset" in page


def test_a_failing_delivery_says_why_and_when_it_is_tried_again(owner_client, owner, make_message):
    from messaging.models import Delivery

    message = make_message(owner)
    Message.objects.filter(pk=message.pk).update(state="delivering", is_active=False)
    retry_at = NOW + timedelta(minutes=20)
    Delivery.objects.create(
        recipient=message.recipients.get(),
        message=message,
        state="pending",
        attempts=2,
        last_error="Couldn't reach the mail server — Cradle will try again.",
        next_attempt_at=retry_at,
    )
    with time_machine.travel(NOW, tick=False):
        page = owner_client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    assert "Couldn&#x27;t reach the mail server" in page
    assert "Cradle tries again at" in page and f"{retry_at:%Y}" in page


def test_the_form_sets_and_clears_the_levels_from_which_every_contact_is_warned(owner_client, owner):
    """The page's way to the per-message override the API has (``contacts_from_level``)."""
    owner_client.post(reverse("messaging:message_create"), _form(contacts_from_level="2"))
    message = Message.objects.get(owner=owner)
    assert message.contacts_from_level == 2
    edit = reverse("messaging:message_edit", args=[message.pk])
    page = owner_client.get(edit).content.decode()
    assert '<option value="2" selected>' in page
    sol = {"recipients-TOTAL_FORMS": "1", "recipients-0-name": "Sol", "recipients-0-contact": "sol@example.com"}
    answer = owner_client.post(edit, _form(contacts_from_level="9", **sol))
    assert answer.status_code == 200 and "contacts_from_level" in answer.context["form"].errors
    message.refresh_from_db()
    assert message.contacts_from_level == 2
    assert owner_client.post(edit, _form(contacts_from_level="", **sol)).status_code == 302
    message.refresh_from_db()
    assert message.contacts_from_level is None
