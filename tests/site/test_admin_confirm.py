"""Irreversible back-office actions ask first (cradle_site/admin_confirm.py): the first POST
shows what will change and changes nothing; the confirmed one runs the service."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.api_keys import apikey_create
from accounts.models import ApiKey
from messaging.models import Message
from messaging.services import message_create
from publishing.models import PublishingTask
from publishing.services import project_create, task_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def make_message():
    def make(owner):
        recipients = [{"name": "Rae", "contact": "rae@example.com", "contact_type": "email"}]
        return message_create(owner=owner, content="plan", initial_delay_months=1, recipients=recipients)[0]

    return make


def _cases(owner, make_message):
    message = make_message(owner)
    project = project_create(owner=owner, name="P")
    task = task_create(project=project, text="hello there")
    key = apikey_create(user=owner, name="k", permissions=["account:read"]).api_key
    return [
        (
            "admin:messaging_message_changelist",
            "revoke_messages",
            message,
            lambda: Message.objects.get(pk=message.pk).state == "revoked",
        ),
        (
            "admin:publishing_publishingtask_changelist",
            "cancel",
            task,
            lambda: PublishingTask.objects.get(pk=task.pk).status == "cancelled",
        ),
        ("admin:accounts_apikey_changelist", "revoke", key, lambda: not ApiKey.objects.get(pk=key.pk).is_active),
    ]


def test_it_lists_what_will_change_and_changes_nothing_until_confirmed(staff_client, owner, make_message):
    for url_name, action, obj, done in _cases(owner, make_message):
        url = reverse(url_name)
        first = staff_client.post(url, {"action": action, "_selected_action": [obj.pk], "index": "0"})
        assert first.status_code == 200, action
        page = first.content.decode()
        assert 'name="confirmed" value="yes"' in page and 'id="confirm-rows"' in page, action
        assert f'name="_selected_action" value="{obj.pk}"' in page
        assert not done(), f"{action} ran before it was confirmed"
        second = staff_client.post(
            url, {"action": action, "_selected_action": [obj.pk], "index": "0", "confirmed": "yes"}
        )
        assert second.status_code == 302, action
        assert done(), f"{action} did not run once confirmed"


def test_select_all_keeps_the_filter_and_counts_every_row(staff_client, owner, make_message):
    messages = [make_message(owner) for _ in range(3)]
    url = reverse("admin:messaging_message_changelist") + "?state__exact=active"
    first = staff_client.post(
        url, {"action": "revoke_messages", "select_across": "1", "index": "0", "_selected_action": [messages[0].pk]}
    )
    page = first.content.decode()
    assert "This will change 3 rows" in page and 'name="select_across" value="1"' in page
    assert Message.objects.filter(state="revoked").count() == 0
    # The page sends back what the changelist sent (a ticked box, "select all") plus the answer.
    assert f'name="_selected_action" value="{messages[0].pk}"' in page
    staff_client.post(
        url,
        {
            "action": "revoke_messages",
            "select_across": "1",
            "index": "0",
            "_selected_action": [messages[0].pk],
            "confirmed": "yes",
        },
    )
    assert Message.objects.filter(state="revoked").count() == 3
