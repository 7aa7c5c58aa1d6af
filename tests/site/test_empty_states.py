"""An empty list says what to do next, not only that it is empty."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("route", "next_step"),
    [
        ("messaging:message_list", "Write your first message"),
        ("publishing:task_list", "Add a source on a project"),
        ("publishing:log_list", "Every try to publish"),
        ("accounts:apikey_list", "Create one above"),
    ],
)
def test_an_empty_list_says_what_to_do_next(client, owner, route, next_step):
    client.force_login(owner)
    page = client.get(reverse(route)).content.decode().replace("&#x27;", "'")
    assert next_step in page
