"""A new authenticator app's default name reads in the reader's language, wherever it was set up."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import mfa

pytestmark = pytest.mark.django_db


def test_the_default_name_is_shown_in_the_pages_language(client, owner):
    device = mfa.totp_pending_device(owner)
    device.confirmed = True
    device.save()
    client.force_login(owner)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("accounts:two_factor")).content.decode()
    assert "<td>验证器应用</td><td>验证器应用</td>" in page
    assert "Authenticator app" not in page


def test_a_name_the_owner_gave_is_kept(owner):
    device = mfa.totp_pending_device(owner)
    device.name = "my phone"
    assert mfa.totp_display_name(device) == "my phone"
