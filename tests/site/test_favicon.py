"""Every page names the icon, and /favicon.ico (what browsers ask for anyway) leads to it."""

from __future__ import annotations

import pytest
from django.templatetags.static import static

pytestmark = pytest.mark.django_db


def test_it_links_the_icon_and_redirects_favicon_ico(client):
    icon = static("cradle/favicon.svg")
    assert f'<link rel="icon" href="{icon}"' in client.get("/accounts/login/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == icon


def test_logged_out_pages_link_the_public_revoke_page(client):
    assert 'href="/messages/revoke/"' in client.get("/accounts/login/").content.decode()
