"""The history's details read in the owner's language, for every text the code writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
import time_machine
from django.utils import translation

from messaging import services, tasks
from messaging.log_text import details_text
from messaging.models import Message, StatusLog
from tests.clock import NOW

pytestmark = pytest.mark.django_db
HOOK = "https://hooks.example.com/cradle"


def _step(message) -> None:
    Message.objects.filter(pk=message.pk).update(next_warning_date=NOW)
    tasks.sweep()


@responses.activate
def test_every_details_text_the_code_writes_has_a_translation(owner, make_message, settings):
    settings.MESSAGING_DELIVERY_MAX_ATTEMPTS = 2
    responses.post(HOOK, status=503)
    with time_machine.travel(NOW, tick=False) as clock:
        answered = make_message(owner)
        _step(answered)  # warning 1
        services.message_continue(message=answered)
        services.message_reset(message=answered)
        services.messages_reset_all(owner=owner)
        services.message_reset(message=answered, details="by staff (root)")
        services.message_revoke(message=answered)
        _message, key = services.message_create(
            owner=owner,
            content="x",
            initial_delay_months=1,
            recipients=[{"name": "Hook", "contact": HOOK, "contact_type": "webhook"}],
        )
        services.message_revoke_by_key(key=key)
        failing = make_message(owner, recipients=[{"name": "Hook", "contact": HOOK, "contact_type": "webhook"}])
        Message.objects.filter(pk=failing.pk).update(warning_level=5)
        _step(failing)  # delivery: attempt 1 fails
        clock.shift(timedelta(days=1))
        tasks.deliver()  # attempt 2 fails: given up
        delivered = make_message(owner)
        Message.objects.filter(pk=delivered.pk).update(warning_level=5)
        _step(delivered)
    written = set(StatusLog.objects.exclude(details="").values_list("details", flat=True))
    assert len(written) >= 10, written
    with translation.override("zh-hans"):
        untranslated = {text for text in written if details_text(text) == text}
    assert not untranslated


def test_the_details_are_translated_with_times_in_the_readers_zone():
    stored = "warning 2 sent; next step at 2026-03-01T12:00:00+00:00"
    assert details_text(stored) == "Warning 2 sent; next step at March 1, 2026, noon."
    with translation.override("zh-hans"), time_machine.travel(NOW):
        from django.utils import timezone

        with timezone.override("Asia/Shanghai"):
            text = details_text(stored)
    assert text.startswith("已发出第 2 次预警") and "20:00" in text
    assert details_text("SMTPServerDisconnected: gone") == "SMTPServerDisconnected: gone"  # unknown: as stored


def test_the_detail_page_shows_the_history_in_chinese(client, owner, make_message):
    from django.urls import reverse

    owner.language = "zh-hans"
    owner.save()
    message = make_message(owner)
    services.message_continue(message=message)
    client.force_login(owner)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    assert "在第 0 级选择继续。" in page and "continue at level 0" not in page
