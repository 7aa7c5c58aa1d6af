"""People read what a key may do in words: no scope code or the seed's internal names."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts import scopes
from accounts.api_keys import apikey_create

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_no_label_names_an_internal_permission():
    for label in scopes.SCOPES.values():
        assert not re.search(r"can_\w+|seed|\w+:\w+", str(label)), label


def test_the_key_page_shows_scopes_in_words(client, owner):
    apikey_create(user=owner, name="ci", permissions=["tasks:create", "can_read_status", "messages:read"])
    client.force_login(owner)
    text = _text(client.get(reverse("accounts:apikey_list")).content.decode())
    assert "Queue posts (create publishing tasks), nothing else" in text
    assert "See the status of publishing tasks, nothing else" in text
    for code in ("tasks:create", "can_read_status", "can_create_task", "messages:read", "the seed"):
        assert code not in text
