"""Say what will happen: the sentence on the form (the endpoint its script calls) and the message page,
right in English and Chinese, in the owner's time zone; it changes nothing and shows no one else's."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from messaging import ladder, projection
from messaging.models import Message
from tests.clock import NOW

pytestmark = pytest.mark.django_db
BOB = {"name": "Bob", "contact": "bob@example.com", "contact_type": "email"}
CAROL = {"name": "Carol", "contact": "carol@example.com", "contact_type": "email"}


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def _sentence(steps, names, language="en", zone="UTC"):
    with translation.override(language), timezone.override(zone):
        return projection.for_new(steps=steps, names=names, start=NOW, now=NOW)


def test_the_seed_ladder_in_days_in_english(seed_ladder):
    text = _sentence(ladder.seed_ladder(1), ["Bob", "Carol"])
    assert text == (
        "If you don't answer, we warn you on April 9, May 9, June 8, June 15 and June 16 by e-mail; "
        "on June 17 Bob and Carol receive this message."
    )
    assert _sentence(ladder.seed_ladder(1), ["Bob"]).endswith("on June 17 Bob receives this message.")
    assert _sentence(ladder.seed_ladder(1), []).endswith("on June 17 your recipients receive this message.")
    assert ", 2026" in _sentence(ladder.seed_ladder(12), ["Bob"])  # another year is named


def test_a_welfare_check_names_the_times_in_the_owners_zone():
    steps = ladder.PRESETS["welfare"].ladder
    assert _sentence(steps, ["Bob"]) == (
        "If you don't answer, we warn you on March 11 at noon, March 11 at 6 p.m. and March 12 at midnight "
        "by e-mail; on March 12 at noon Bob receives this message."
    )
    assert "March 11 at 8 p.m." in _sentence(steps, ["Bob"], zone="Asia/Shanghai")


def test_the_sentence_in_chinese():
    text = _sentence(ladder.PRESETS["weekly"].ladder, ["Bob", "Carol", "Dan"], language="zh-hans")
    assert text == (
        "如果您不回应，我们会在03月17日、03月18日和03月19日通过电子邮件提醒您；03月20日，Bob、Carol和Dan将收到这条留言。"
    )


def test_after_the_final_warning_only_the_delivery_is_left(owner, make_message):
    with time_machine.travel(NOW, tick=False):
        message = make_message(owner, ladder_name="weekly", recipients=[BOB])
        Message.objects.filter(pk=message.pk).update(warning_level=3, next_warning_date=NOW)
        message.refresh_from_db()
        with translation.override("en"):
            text = projection.for_message(message, names=["Bob"], now=NOW)
    assert text == "If you don't answer the final warning, on March 10 Bob receives this message."


def test_the_endpoint_follows_what_is_typed_and_changes_nothing(owner_client, owner):
    url = reverse("messaging:projection")
    with time_machine.travel(NOW, tick=False):
        data = owner_client.get(
            url, {"ladder": "custom", "ladder_steps": "2, 1", "ladder_unit": "days", "names": ["Bob", " "]}
        ).json()
        assert (
            data["sentence"]
            == "If you don't answer, we warn you on March 12 by e-mail; on March 13 Bob receives this message."
        )
        bad = owner_client.get(url, {"ladder": "custom", "ladder_steps": "1, 0.1", "ladder_unit": "hours"}).json()
        assert bad["sentence"] == "" and "at least one hour" in bad["error"]
        junk = owner_client.get(url, {"ladder": "custom", "ladder_steps": "nan, 1"}).json()
        assert junk["sentence"] == "" and junk["error"]
        seeded = owner_client.get(url, {"initial_delay_months": "0"}).json()
        assert seeded["sentence"] == "" and "months" in seeded["error"]
        assert owner_client.post(url).status_code == 405
    assert not Message.objects.exists()


def test_the_endpoint_speaks_the_owners_language(client, make_user):
    chinese = make_user(
        username="li", email="li@example.com", password="pw-li-123!", language="zh-hans", time_zone="Asia/Shanghai"
    )
    client.force_login(chinese)
    with time_machine.travel(NOW, tick=False):
        data = client.get(reverse("messaging:projection"), {"ladder": "welfare", "names": ["Bob"]}).json()
    assert data["sentence"].startswith("如果您不回应，我们会在03月11日 20:00")


def test_an_outsider_gets_no_projection_of_anothers_message(owner, other_user, client, make_message):
    message = make_message(owner)
    client.force_login(other_user)
    assert client.get(reverse("messaging:projection"), {"message": message.pk}).status_code == 404


def test_the_form_and_the_page_show_the_sentence_at_flat_query_counts(
    owner, owner_client, make_message, django_assert_max_num_queries
):
    form = owner_client.get(reverse("messaging:message_create")).content.decode()
    assert 'id="projection"' in form and "If you don&#x27;t answer" in form and "projection.js" in form
    few = make_message(owner, ladder_name="welfare", recipients=[BOB])
    many = make_message(
        owner, ladder_name="welfare", recipients=[BOB, CAROL, {**BOB, "name": "B2", "contact": "b2@example.com"}]
    )
    owner_client.get(reverse("messaging:message_detail", args=[few.pk]))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as first:
        page = owner_client.get(reverse("messaging:message_detail", args=[few.pk])).content.decode()
    counted = len(first)
    assert "Bob receives this message." in page
    with django_assert_max_num_queries(counted):
        page = owner_client.get(reverse("messaging:message_detail", args=[many.pk])).content.decode()
    assert "Bob, Carol and B2 receive this message." in page
    edit = owner_client.get(reverse("messaging:message_edit", args=[few.pk]))
    assert edit.status_code in (200, 302)
