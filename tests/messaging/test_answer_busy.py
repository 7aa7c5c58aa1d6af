"""An answer that loses a deadlock is run again; one that keeps losing says "try again", never a 500.

The deadlock is simulated where the answers take their lock (``services._lock``): the real
one, on MariaDB, is in test_answer_locks.py.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.db import OperationalError
from django.urls import reverse

from messaging import links, services, views
from messaging.models import Message, StatusLog
from tests.messaging.page_forms import message_form

RW = ["messages:read", "messages:write"]
DEADLOCK = (1213, "Deadlock found when trying to get lock; try restarting transaction")


@pytest.fixture
def deadlocks(monkeypatch):
    """``deadlocks(n)``: the next ``n`` row locks an answer takes lose a deadlock (None: every one);
    ``only=pk``: only the locks of that message. Returns the pks whose lock lost, in order."""

    def arm(times: int | None, *, only: int | None = None) -> list[int]:
        lost = []
        real = services._lock

        def lock(message):
            if (times is None or len(lost) < times) and only in (None, message.pk):
                lost.append(message.pk)
                raise OperationalError(*DEADLOCK)
            return real(message)

        monkeypatch.setattr(services, "_lock", lock)
        return lost

    return arm


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def _flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", ["reset", "continue", "revoke"])
def test_an_answer_that_lost_a_deadlock_is_run_again_and_saved(owner, make_message, deadlocks, action):
    message = make_message(owner, level=1)
    lost = deadlocks(2)
    getattr(services, f"message_{action}")(message=message)
    assert len(lost) == 2
    assert StatusLog.objects.filter(message=message).count() == 1  # saved once, not once per attempt


@pytest.mark.django_db(transaction=True)
def test_a_revoke_by_key_and_an_edit_that_lost_a_deadlock_are_run_again(owner, deadlocks):
    message, key = services.message_create(
        owner=owner,
        content="plan",
        initial_delay_months=1,
        recipients=[{"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}],
    )
    deadlocks(1)
    services.message_update(message=message, content="new plan", initial_delay_months=2)
    assert Message.objects.get(pk=message.pk).initial_delay_months == 2
    deadlocks(1)
    assert services.message_revoke_by_key(key=key) is not None
    assert Message.objects.get(pk=message.pk).state == Message.State.REVOKED


@pytest.mark.django_db(transaction=True)
def test_reset_all_is_saved_whole_after_a_deadlock(owner, make_message, deadlocks):
    make_message(owner)
    second = make_message(owner)
    Message.objects.update(warning_level=3)
    # The second message's lock loses once, after the first message was reset in the same transaction.
    lost = deadlocks(1, only=second.pk)
    assert services.messages_reset_all(owner=owner) == 2
    assert lost == [second.pk]
    # Rolled back whole and run again: one reset each, not the first one twice.
    assert StatusLog.objects.filter(status="WARNING_RESET").count() == 2
    assert set(Message.objects.values_list("warning_level", flat=True)) == {0}


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["reset", "continue", "revoke"])
def test_a_busy_answer_on_the_page_says_try_again_and_saves_nothing(
    owner_client, owner, make_message, deadlocks, action
):
    message = make_message(owner)
    deadlocks(None)
    response = owner_client.post(reverse("messaging:message_action", args=[message.pk, action]))
    assert response.status_code == 302
    assert _flashes(response) == [str(views.BUSY_TEXT)]
    assert Message.objects.get(pk=message.pk).state == Message.State.ACTIVE
    assert not StatusLog.objects.exists()


@pytest.mark.django_db
def test_a_busy_check_in_edit_and_reset_all_say_try_again(owner_client, owner, make_message, deadlocks):
    message = make_message(owner)
    deadlocks(None)
    checkin = owner_client.post(reverse("messaging:checkin", args=[links.checkin_token(message)]), {"answer": "reset"})
    assert checkin.status_code == 302 and _flashes(checkin) == [str(views.BUSY_TEXT)]
    reset_all = owner_client.post(reverse("messaging:reset_all"))
    assert reset_all.status_code == 302 and _flashes(reset_all)[-1] == str(views.BUSY_TEXT)
    edit = owner_client.post(
        reverse("messaging:message_edit", args=[message.pk]),
        message_form(title="", content="changed"),
    )
    assert edit.status_code == 200 and str(views.BUSY_TEXT) in edit.content.decode()
    assert Message.objects.get(pk=message.pk).content == "the secret plan"


@pytest.mark.django_db
def test_a_busy_public_revoke_says_try_again(client, owner, deadlocks):
    _message, key = services.message_create(
        owner=owner,
        content="plan",
        initial_delay_months=1,
        recipients=[{"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}],
    )
    deadlocks(None)
    response = client.post(reverse("messaging:public_revoke"), {"key": key})
    assert response.status_code == 503
    assert str(views.BUSY_TEXT) in response.content.decode()
    assert Message.objects.get().state == Message.State.ACTIVE


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["reset", "continue", "revoke"])
def test_a_busy_answer_on_the_api_is_a_503_with_retry_after(api_client_for, owner, make_message, deadlocks, action):
    message = make_message(owner)
    deadlocks(None)
    response = api_client_for(owner, RW).post(reverse(f"api:messaging-message-{action}", args=[message.pk]))
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    error = response.json()["error"]
    assert error["code"] == "busy" and "nothing was saved" in error["message"] and error["fields"] == {}
    assert Message.objects.get(pk=message.pk).state == Message.State.ACTIVE


@pytest.mark.django_db
def test_a_busy_reset_all_on_the_api_is_a_503(api_client_for, owner, make_message, deadlocks):
    make_message(owner)
    deadlocks(None)
    response = api_client_for(owner, RW).post(reverse("api:messaging-message-reset-all"))
    assert response.status_code == 503 and response.json()["error"]["code"] == "busy"
