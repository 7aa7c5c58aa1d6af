"""The messages API list at scale: cursor pages, the same queries at 100 and 2,000 rows, no body of a skipped row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cradle_site.api import CursorPagination
from tests.messaging.bulk import bulk_messages

pytestmark = pytest.mark.django_db

LIST = reverse("api:messaging-message-list")
PAGE = CursorPagination.page_size


@pytest.fixture
def api(api_client_for, owner):
    return api_client_for(owner, ["messages:read"])


def test_the_api_list_queries_are_the_same_at_100_and_2000_messages(api, owner, django_assert_max_num_queries):
    bulk_messages(owner, 100)
    with CaptureQueriesContext(connection) as captured:
        api.get(LIST)
    # Counted now: the context's slice of the connection's log empties once a later request resets the log.
    small = len(captured)
    assert small >= 3  # key, messages, bodies, recipients
    bulk_messages(owner, 1900)
    with django_assert_max_num_queries(small):
        body = api.get(LIST).json()
    assert len(body["results"]) == PAGE and set(body) == {"next", "previous", "results"}
    # Deep in the list it costs the same (the cursor is a keyset position, not an OFFSET over skipped rows).
    url = body["next"]
    for _ in range(30):
        url = api.get(url).json()["next"]
    with django_assert_max_num_queries(small):
        assert len(api.get(url).json()["results"]) == PAGE


def test_the_api_list_reads_only_the_shown_rows_bodies(api, owner):
    bulk_messages(owner, 3 * PAGE)
    with CaptureQueriesContext(connection) as captured:
        results = api.get(LIST).json()["results"]
    assert len(results) == PAGE and {len(r["recipients"]) for r in results} == {2}
    bodies = [q["sql"] for q in captured.captured_queries if "messaging_messagebody" in q["sql"]]
    assert len(bodies) == 1 and " IN (" in bodies[0] and "JOIN" not in bodies[0].upper()
    main = next(
        q["sql"]
        for q in captured.captured_queries
        if 'FROM "messaging_message"' in q["sql"] or "FROM `messaging_message`" in q["sql"]
    )
    assert "LIMIT" in main.upper()


def test_the_api_cursor_walks_every_message_once_and_never_another_users(api, owner, other_user):
    theirs = set(bulk_messages(other_user, PAGE + 3))
    mine = bulk_messages(owner, 2 * PAGE + 3)
    seen, url = [], LIST
    while url:
        body = api.get(url).json()
        seen += [r["id"] for r in body["results"]]
        url = body["next"]
    assert seen == mine and not set(seen) & theirs


def test_an_invalid_api_cursor_is_a_404_in_the_error_shape(api, owner):
    bulk_messages(owner, 3)
    response = api.get(LIST, {"cursor": "not-a-cursor"})
    assert response.status_code == 404 and "error" in response.json()
