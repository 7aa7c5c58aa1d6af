"""Delivery: channels, retries with back-off, exactly one success per recipient, DELIVERED once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from standardwebhooks import Webhook

from messaging import channels, services
from messaging.delivery import deliveries_send
from messaging.models import Delivery, Message, StaffAlarm, StatusLog
from tests.clock import NOW
from tests.jobs import messaging_minute

pytestmark = pytest.mark.django_db
HOOK = "https://hooks.example.com/cradle"


class RefusingGateway:
    def __init__(self, **options):
        pass

    def send(self, to, text):
        raise channels.ChannelError("sms: gateway said no")


class NoSuchNumberGateway:
    def __init__(self, **options):
        pass

    def send(self, to, text):
        raise channels.ChannelError("sms: no such number", kind=channels.FailureKind.PERMANENT)


SENT_SMS: list[tuple[str, str]] = []


class RecordingGateway:
    def __init__(self, **options):
        pass

    def send(self, to, text):
        SENT_SMS.append((to, text))


def _due_for_delivery(message) -> None:
    Message.objects.filter(pk=message.pk).update(warning_level=5, next_warning_date=NOW)


@responses.activate
def test_a_failing_webhook_is_retried_with_backoff_then_succeeds_once(owner, make_message, settings):
    settings.MESSAGING_RETRY_BASE_SECONDS = 60
    message = make_message(owner, recipients=[{"name": "Hook", "contact": HOOK, "contact_type": "webhook"}])
    _due_for_delivery(message)
    responses.post(HOOK, status=503)
    responses.post(HOOK, status=503)
    responses.post(HOOK, status=200)
    with time_machine.travel(NOW, tick=False) as clock:
        messaging_minute()
        delivery = Delivery.objects.get(message=message)
        assert (delivery.state, delivery.attempts) == ("pending", 1)
        assert delivery.next_attempt_at == NOW + timedelta(seconds=60)
        assert "HTTP 503" in delivery.last_error
        messaging_minute()  # not yet due: nothing is sent
        assert len(responses.calls) == 1
        clock.move_to(NOW + timedelta(seconds=60))
        messaging_minute()
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == ("pending", 2)
        assert delivery.next_attempt_at == NOW + timedelta(seconds=60 + 120)
        clock.move_to(delivery.next_attempt_at)
        messaging_minute()
        clock.move_to(NOW + timedelta(days=1))
        messaging_minute()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("sent", 3)
    assert len(responses.calls) == 3
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    logs = list(message.status_logs.values_list("status", flat=True))
    assert logs.count("DELIVERY_FAILED") == 2 and logs.count("DELIVERED") == 1
    failed = message.status_logs.filter(status="DELIVERY_FAILED").first()
    assert "Hook" in failed.details and "503" in failed.details


@responses.activate
def test_the_webhook_body_is_json_signed_with_the_recipients_own_secret(owner, make_message):
    message = make_message(owner, recipients=[{"name": "Hook", "contact": HOOK, "contact_type": "webhook"}])
    _due_for_delivery(message)
    responses.post(HOOK, status=204)
    with time_machine.travel(NOW, tick=False):
        messaging_minute()
        request = responses.calls[0].request
        secret = message.recipients.get().webhook_secret
        body = Webhook(secret).verify(request.body, dict(request.headers))
    # The recipient's own link, and no text: the owner did not choose to include it (the default).
    assert body["url"].startswith("http") and "/d/" in body["url"] and body["message_id"] == message.pk
    assert "content" not in body and "the secret plan" not in request.body.decode()
    assert secret not in request.body.decode(), "the secret never travels with the delivery"
    assert "X-Cradle-Signature" not in request.headers, "no signature under a site-wide secret any more"


def test_a_recipient_refused_for_good_alarms_staff_not_the_owner_and_staff_retry_it(owner, make_message, settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.MESSAGING_SMS_GATEWAY = "tests.messaging.test_delivery.NoSuchNumberGateway"
    message = make_message(
        owner,
        recipients=[{"name": "Pat", "contact": "+14155550123", "contact_type": "sms"}],
        include_text_in_notice=True,
    )
    _due_for_delivery(message)
    with time_machine.travel(NOW, tick=False) as clock:
        messaging_minute()
        clock.move_to(NOW + timedelta(days=3))
        messaging_minute()
    delivery = Delivery.objects.get(message=message)
    assert (delivery.state, delivery.attempts) == ("failed", 1), "refused for good: not retried by itself"
    assert StaffAlarm.objects.get(delivery=delivery).state == "sent"
    assert [m.to for m in mail.outbox] == [["ops@example.com"]], "staff hear of it; the owner does not"
    # Staff retry it; the gateway now works; exactly one SMS goes out.
    settings.MESSAGING_SMS_GATEWAY = "tests.messaging.test_delivery.RecordingGateway"
    SENT_SMS.clear()
    with time_machine.travel(NOW + timedelta(days=3, hours=1), tick=False):
        assert services.delivery_retry(delivery=delivery)
        deliveries_send()
        deliveries_send()
    [(to, text)] = SENT_SMS
    assert to == "+14155550123" and "/d/" in text and text.endswith("the secret plan")
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED


def test_each_recipient_gets_the_email_once_even_when_the_jobs_run_again(owner, make_message):
    message = make_message(
        owner,
        recipients=[
            {"name": "A", "contact": "a@example.com", "contact_type": "email"},
            {"name": "B", "contact": "b@example.com", "contact_type": "email"},
        ],
        include_text_in_notice=True,
    )
    _due_for_delivery(message)
    with time_machine.travel(NOW, tick=False):
        for _ in range(3):
            messaging_minute()
            messaging_minute()
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    assert StatusLog.objects.filter(message=message, status="DELIVERED").count() == 1
    assert "the secret plan" in mail.outbox[0].body
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_a_delivery_stuck_in_sending_is_taken_back_after_its_lease(owner, make_message, settings):
    message = make_message(owner)
    _due_for_delivery(message)
    with time_machine.travel(NOW, tick=False):
        from messaging.sweep import sweep_due

        sweep_due()
    # A worker claimed it and died before sending.
    Delivery.objects.filter(message=message).update(state="sending", lease_until=NOW + timedelta(minutes=10))
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        assert deliveries_send() == {"sent": 0, "failed": 0}
    with time_machine.travel(NOW + timedelta(minutes=11), tick=False):
        assert deliveries_send() == {"sent": 1, "failed": 0}
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("contact_type", "contact", "code"),
    [
        ("email", "not-an-address", "invalid_email"),
        ("webhook", "http://insecure.example.com/hook", "invalid_url"),
        ("webhook", "ftp://example.com", "invalid_url"),
        ("sms", "+14155550123", "sms_unavailable"),
    ],
)
def test_contacts_are_validated_per_type(contact_type, contact, code, settings):
    settings.MESSAGING_SMS_GATEWAY = ""
    with pytest.raises(ValidationError) as info:
        channels.validate_contact(contact_type, contact)
    assert info.value.code == code


def test_sms_numbers_must_be_e164_when_a_gateway_is_configured(settings):
    settings.MESSAGING_SMS_GATEWAY = "tests.messaging.test_delivery.RecordingGateway"
    assert channels.validate_contact("sms", " +442071838750 ") == "+442071838750"
    with pytest.raises(ValidationError):
        channels.validate_contact("sms", "020 7183 8750")


@responses.activate
@pytest.mark.parametrize("first_send_status", [200, 503])
def test_a_revoke_during_a_send_stops_every_later_send_of_the_batch(owner, make_message, first_send_status):
    hooks = [f"{HOOK}/{name}" for name in ("one", "two", "three")]
    message = make_message(
        owner, recipients=[{"name": f"R{i}", "contact": url, "contact_type": "webhook"} for i, url in enumerate(hooks)]
    )

    def revoke_while_sending(request):
        # The owner revokes while the first webhook is still waiting for its answer.
        services.message_revoke(message=Message.objects.get(pk=message.pk))
        return first_send_status, {}, ""

    for url in hooks:
        responses.add_callback(responses.POST, url, callback=revoke_while_sending)
    _due_for_delivery(message)
    with time_machine.travel(NOW, tick=False):
        messaging_minute()
        messaging_minute()
    assert len(responses.calls) == 1, "no send may start after the revoke"
    states = sorted(Delivery.objects.filter(message=message).values_list("state", flat=True))
    first = "sent" if first_send_status == 200 else "cancelled"
    assert states == sorted([first, "cancelled", "cancelled"])
    message.refresh_from_db()
    assert message.state == Message.State.REVOKED
    assert not message.status_logs.filter(status="DELIVERED").exists()
    assert not StaffAlarm.objects.exists()


@responses.activate
def test_a_batch_that_outlasts_its_lease_never_sends_a_row_another_worker_took_back(owner, make_message, settings):
    """Webhooks so slow that the batch's lease runs out: another worker takes the last row
    back and sends it; the first worker, reaching that row, must not send it again."""
    lease = settings.MESSAGING_SEND_LEASE_SECONDS
    hooks = [f"{HOOK}/{name}" for name in ("one", "two", "three")]
    message = make_message(
        owner, recipients=[{"name": f"R{i}", "contact": url, "contact_type": "webhook"} for i, url in enumerate(hooks)]
    )
    _due_for_delivery(message)
    calls: list[str] = []
    with time_machine.travel(NOW, tick=False) as clock:

        def slow(request):
            calls.append(request.url)
            if len(calls) == 1:
                clock.shift(lease // 2)  # half a lease on the first webhook
            elif len(calls) == 2:
                clock.shift(lease // 2 + 100)  # the claim's lease has run out by now
                deliveries_send()  # ... and another worker takes back what it can
            return 200, {}, ""

        for url in hooks:
            responses.add_callback(responses.POST, url, callback=slow)
        messaging_minute()  # claims all three, sends them one by one
    assert sorted(calls) == sorted(hooks), f"each recipient once, got {calls}"
    assert set(Delivery.objects.filter(message=message).values_list("state", flat=True)) == {"sent"}
    assert message.status_logs.filter(status="DELIVERED").count() == 1


class CrashingGateway:
    def __init__(self, **options):
        pass

    def send(self, to, text):
        raise KeyError("a bug in the gateway class")


@pytest.mark.parametrize(
    "gateway, kind",
    [("RefusingGateway", channels.FailureKind.TRANSIENT), ("CrashingGateway", channels.FailureKind.CRASH)],
)
def test_the_history_records_why_an_attempt_failed(owner, make_message, settings, gateway, kind):
    settings.MESSAGING_SMS_GATEWAY = f"tests.messaging.test_delivery.{gateway}"
    message = make_message(owner, recipients=[{"name": "Pat", "contact": "+14155550123", "contact_type": "sms"}])
    _due_for_delivery(message)
    with time_machine.travel(NOW, tick=False):
        messaging_minute()
    [failed] = StatusLog.objects.filter(message=message, status=StatusLog.Status.DELIVERY_FAILED)
    assert failed.data["error_kind"] == kind and failed.data["attempt"] == 1 and not failed.data["final"]
    assert Delivery.objects.get(message=message).state == Delivery.State.PENDING  # retried later either way
