"""Row actions in list tables say which row they act on (a screen reader hears "Retry task 7",
not seven times "Retry"); each label starts with the button's visible text."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.api_keys import apikey_create

pytestmark = pytest.mark.django_db


def test_the_revoke_button_names_its_key(client, owner):
    apikey_create(user=owner, name="backup script", permissions=["messages:read"])
    client.force_login(owner)
    page = client.get(reverse("accounts:apikey_list")).content.decode()
    assert 'aria-label="Revoke key “backup script”">Revoke</button>' in page


def test_in_chinese_the_label_starts_with_the_visible_text(client, owner):
    apikey_create(user=owner, name="备份", permissions=["messages:read"])
    owner.language = "zh-hans"
    owner.save()
    client.force_login(owner)
    client.cookies["django_language"] = "zh-hans"
    with translation.override("zh-hans"):
        page = client.get(reverse("accounts:apikey_list")).content.decode()
    assert 'aria-label="撤销密钥“备份”">撤销</button>' in page
