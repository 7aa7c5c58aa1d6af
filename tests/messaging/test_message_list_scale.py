"""The /messages/ page at scale: one keyset page of the owner's rows, whatever the owner has."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging.models import Message
from messaging.views import PAGE_SIZE, _cursor_of
from tests.clock import NOW
from tests.messaging.bulk import bulk_messages

pytestmark = pytest.mark.django_db

LIST = reverse("messaging:message_list")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def _queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def _walk(client) -> list[list[int]]:
    """Every page's ids, first to last, following the Older links."""
    pages, url = [], LIST
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append([m.pk for m in response.context["items"]])
        older = response.context["older_cursor"]
        url = f"{LIST}?before={older}" if older else None
    return pages


def test_the_list_queries_are_the_same_at_100_and_2000_messages(
    owner_client, owner, other_user, django_assert_max_num_queries
):
    bulk_messages(owner, 100)
    small = _queries(owner_client, LIST)
    assert len(small) >= 3  # session, user, messages, recipients: a real count, not an empty log
    bulk_messages(other_user, 1900)
    with django_assert_max_num_queries(len(small)):
        owner_client.get(LIST)
    oldest = bulk_messages(owner, 1900)[-PAGE_SIZE - 1]
    assert Message.objects.filter(owner=owner).count() == 2000
    with django_assert_max_num_queries(len(small)):
        response = owner_client.get(LIST)
    assert len(response.context["items"]) == PAGE_SIZE
    # The last page costs what the first does.
    before = _cursor_of(Message.objects.get(pk=oldest))
    with django_assert_max_num_queries(len(small)):
        response = owner_client.get(LIST, {"before": before})
    assert len(response.context["items"]) == PAGE_SIZE and response.context["older_cursor"] == ""


def test_the_list_never_reads_the_bodies_nor_counts_recipients_over_every_message(owner_client, owner):
    bulk_messages(owner, PAGE_SIZE + 10)
    sql = "\n".join(_queries(owner_client, LIST))
    assert "messaging_messagebody" not in sql
    assert "revocation_key_hash" not in sql
    counting = [q for q in _queries(owner_client, LIST) if "COUNT(" in q.upper()]
    assert len(counting) == 1 and "messaging_recipient" in counting[0] and " IN (" in counting[0]


def test_the_older_links_walk_every_message_once_to_the_end_and_newer_walks_back(owner_client, owner):
    ids = bulk_messages(owner, 2 * PAGE_SIZE + 7, recipients=3)
    pages = _walk(owner_client)
    assert [len(p) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 7]
    assert [pk for page in pages for pk in page] == ids
    last = owner_client.get(f"{LIST}?before={owner_client.get(LIST).context['older_cursor']}")
    assert {m.recipient_count for m in last.context["items"]} == {3}
    newer = owner_client.get(f"{LIST}?after={last.context['newer_cursor']}")
    assert [m.pk for m in newer.context["items"]] == pages[0]
    assert newer.context["newer_cursor"] == ""
    page = owner_client.get(LIST).content.decode()
    assert "?before=" in page and "?after=" not in page


def test_a_newer_link_from_the_second_of_three_pages_shows_the_first(owner_client, owner):
    bulk_messages(owner, 3 * PAGE_SIZE)
    pages = _walk(owner_client)
    third = owner_client.get(f"{LIST}?before={owner_client.get(LIST).context['older_cursor']}")
    third = owner_client.get(f"{LIST}?before={third.context['older_cursor']}")
    second = owner_client.get(f"{LIST}?after={third.context['newer_cursor']}")
    assert [m.pk for m in second.context["items"]] == pages[1]
    assert second.context["newer_cursor"] and second.context["older_cursor"]


def test_another_users_messages_never_appear_on_any_page(owner_client, owner, other_user):
    theirs = set(bulk_messages(other_user, PAGE_SIZE + 5, title="For Rae"))
    mine = bulk_messages(owner, PAGE_SIZE + 5)
    shown = {pk for page in _walk(owner_client) for pk in page}
    assert shown == set(mine) and not shown & theirs
    # A cursor taken from the other user's rows still shows only the owner's.
    tomorrow = (NOW + timedelta(days=1) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    response = owner_client.get(LIST, {"before": f"{tomorrow}.{max(theirs) + 1}"})
    assert {m.owner_id for m in response.context["items"]} == {owner.pk}


@pytest.mark.parametrize("cursor", ["nope", "1.x", ".", "9" * 40 + ".1", "-1", "1.2.3", ""])
@pytest.mark.parametrize("direction", ["before", "after"])
def test_an_invalid_cursor_serves_the_first_page_not_a_500(owner_client, owner, direction, cursor):
    ids = bulk_messages(owner, PAGE_SIZE + 1)
    response = owner_client.get(LIST, {direction: cursor})
    assert response.status_code == 200
    assert [m.pk for m in response.context["items"]] in (ids[:PAGE_SIZE], [])
