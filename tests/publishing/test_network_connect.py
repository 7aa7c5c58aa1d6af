"""Issue 19's connect pages: Mastodon by OAuth against the owner's instance (the real
Mastodon.py against netdoubles' Mastodon double: app registration, authorize, token),
Bluesky by handle and app password (the real atproto against the PDS double), the
"Networks" section and Disconnect. By persona: the owner, a viewer, an outsider."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cradle_site import outbound
from ops.models import AuditEvent
from publishing import accounts, mastodon_oauth
from publishing.models import MastodonApp, NetworkAccount

from .netdoubles import BlueskyDouble, MastodonDouble

pytestmark = pytest.mark.django_db


@pytest.fixture
def mastodon(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the double listens on 127.0.0.1
    settings.SITE_URL = "http://testserver"
    with MastodonDouble() as double:
        yield double


@pytest.fixture
def bluesky(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with BlueskyDouble() as double:
        settings.PUBLISHING_BLUESKY_PDS_URL = double.url
        yield double


def _start(client, project, instance: str):
    return client.post(reverse("publishing:mastodon_connect", args=[project.pk]), {"instance_url": instance})


def _consent(authorize_url: str) -> str:
    """The owner approving on the instance's page: the path and query it sends the browser back to."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}" == "http://testserver"
    return f"{back.path}?{back.query}"


def test_it_connects_mastodon_by_oauth_with_the_real_request_shapes(client, owner, project, mastodon):
    client.force_login(owner)
    response = _start(client, project, mastodon.url)
    assert response.status_code == 302
    authorize = urlsplit(response["Location"])
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert response["Location"].startswith(mastodon.url + "/oauth/authorize?")
    assert query["response_type"] == "code" and query["scope"] == "read:accounts write:statuses write:media"
    assert query["redirect_uri"] == "http://testserver" + reverse("publishing:mastodon_callback")
    assert len(query["state"]) >= 32

    (registration,) = mastodon.calls("/api/v1/apps")
    form = {k: v[0] for k, v in parse_qs(registration["body"].decode()).items()}
    assert form == {
        "client_name": "Cradle",
        "scopes": "read:accounts write:statuses write:media",
        "redirect_uris": query["redirect_uri"],
        "website": "http://testserver",
    }
    app = MastodonApp.objects.get()
    assert app.client_id == query["client_id"] and app.client_id in mastodon.apps
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM publishing_mastodonapp WHERE id = %s", [app.pk])
        (raw,) = cursor.fetchone()
    assert app.client_secret.startswith("csecret-") and app.client_secret not in raw  # encrypted at rest

    before = AuditEvent.objects.count()
    landed = client.get(_consent(response["Location"]))
    assert landed.status_code == 302 and landed["Location"] == reverse("publishing:project_detail", args=[project.pk])

    (exchange,) = mastodon.calls("/oauth/token")
    sent = {k: v[0] for k, v in parse_qs(exchange["body"].decode()).items()}
    assert sent["grant_type"] == "authorization_code" and sent["client_secret"] == app.client_secret
    assert sent["redirect_uri"] == query["redirect_uri"] and sent["client_id"] == app.client_id
    account = NetworkAccount.objects.get(project=project)
    assert account.network == "mastodon" and account.handle == f"@bob@{urlsplit(mastodon.url).netloc}"
    assert account.instance_url == mastodon.url and mastodon.tokens[account.access_token] == "bob"
    assert account.limits["max_characters"] == 500
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert event.event_type == "network_account.connected" and account.access_token not in str(event.extra_data)

    page = client.get(reverse("publishing:project_detail", args=[project.pk])).content.decode()
    assert account.handle in page and mastodon.url in page


def test_the_app_is_registered_once_per_instance(client, owner, project, mastodon):
    client.force_login(owner)
    for _ in range(3):
        assert _start(client, project, mastodon.url).status_code == 302
    assert len(mastodon.calls("/api/v1/apps")) == 1 and MastodonApp.objects.count() == 1


def test_a_state_works_once_only_for_its_session_and_not_after_it_expires(
    client, owner, other_user, project, mastodon, time_machine
):
    client.force_login(owner)
    back = _consent(_start(client, project, mastodon.url)["Location"])
    forged = back.replace("state=", "state=x")
    assert client.get(forged).status_code == 302
    assert not NetworkAccount.objects.exists()  # a wrong state used the flow up
    back = _consent(_start(client, project, mastodon.url)["Location"])
    client.get(back)
    assert NetworkAccount.objects.count() == 1
    NetworkAccount.objects.all().delete()
    client.get(back)  # the same state again
    assert not NetworkAccount.objects.exists()

    # Another session (the outsider's) cannot use the owner's state.
    back = _consent(_start(client, project, mastodon.url)["Location"])
    intruder = client.__class__()
    intruder.force_login(other_user)
    intruder.get(back)
    assert not NetworkAccount.objects.exists()

    # Expired: a consent page left open longer than STATE_MAX_AGE.
    from cradle_site.oauth_pkce import STATE_MAX_AGE

    back = _consent(_start(client, project, mastodon.url)["Location"])
    time_machine.move_to(timezone.now() + STATE_MAX_AGE + timedelta(seconds=1))
    client.get(back)
    assert not NetworkAccount.objects.exists()


def test_a_refusal_on_the_instance_connects_nothing(client, owner, project, mastodon):
    client.force_login(owner)
    mastodon.consent_acct = ""
    back = _consent(_start(client, project, mastodon.url)["Location"])
    assert "error=access_denied" in back
    response = client.get(back, follow=True)
    assert "Mastodon was not connected." in response.content.decode()
    assert not NetworkAccount.objects.exists() and not mastodon.calls("/oauth/token")


@pytest.mark.parametrize(
    "instance",
    ["https://127.0.0.1", "https://10.0.0.8", "https://[::1]", "https://169.254.169.254", "http://mastodon.example"],
)
def test_private_and_plain_http_instances_are_refused(client, owner, project, settings, instance):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    client.force_login(owner)
    response = _start(client, project, instance)
    assert response.status_code == 400
    assert response.context["mastodon_form"].errors["instance_url"]
    assert not MastodonApp.objects.exists()


def test_a_name_that_resolves_to_a_private_address_is_refused_where_the_socket_opens(
    client, owner, project, settings, monkeypatch
):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"])
    client.force_login(owner)
    response = _start(client, project, "mastodon.example")
    assert response.status_code == 400
    assert "not a public Mastodon server" in response.content.decode()
    assert not MastodonApp.objects.exists()


def test_it_connects_bluesky_with_an_app_password(client, owner, project, bluesky):
    client.force_login(owner)
    page = client.get(reverse("publishing:project_detail", args=[project.pk])).content.decode()
    assert "App passwords" in page  # says what an app password is and where to make one
    url = reverse("publishing:bluesky_connect", args=[project.pk])
    wrong = client.post(url, {"handle": "alice.bsky.social", "app_password": "nope"})
    assert wrong.status_code == 400 and wrong.context["bluesky_form"].errors["app_password"]
    bad = client.post(url, {"handle": "not a handle", "app_password": "x"})
    assert bad.status_code == 400 and bad.context["bluesky_form"].errors["handle"]
    assert client.post(url, {"handle": "@Alice.bsky.social", "app_password": "app-pass-1234"}).status_code == 302
    account = NetworkAccount.objects.get(project=project)
    assert account.handle == "alice.bsky.social" and account.remote_id == bluesky.dids["alice.bsky.social"]
    page = client.get(reverse("publishing:project_detail", args=[project.pk])).content.decode()
    assert "alice.bsky.social" in page and "app-pass-1234" not in page


def test_disconnect_needs_the_confirm_and_the_owner(client, owner, other_user, project, bluesky):
    account = accounts.account_connect_bluesky(
        project=project, handle="alice.bsky.social", app_password="app-pass-1234"
    )
    url = reverse("publishing:account_disconnect", args=[account.pk])
    outsider = client.__class__()
    outsider.force_login(other_user)
    assert outsider.post(url, {"confirm": "yes"}).status_code == 404
    owner.role = User.Role.VIEWER
    owner.save()
    client.force_login(owner)
    assert client.post(url, {"confirm": "yes"}).status_code == 403
    owner.role = User.Role.EDITOR
    owner.save()
    client.post(url)  # no confirm: nothing happens
    assert NetworkAccount.objects.filter(pk=account.pk).exists()
    assert client.get(url).status_code == 405
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    assert not NetworkAccount.objects.filter(pk=account.pk).exists()


def test_the_page_says_when_an_account_needs_reconnecting(client, owner, project, bluesky):
    account = accounts.account_connect_bluesky(
        project=project, handle="alice.bsky.social", app_password="app-pass-1234"
    )
    NetworkAccount.objects.filter(pk=account.pk).update(needs_reconnect=True)
    client.force_login(owner)
    page = client.get(reverse("publishing:project_detail", args=[project.pk])).content.decode()
    assert "needs reconnecting" in page


def test_reconnecting_through_oauth_lifts_needs_reconnect(client, owner, project, mastodon):
    client.force_login(owner)
    client.get(_consent(_start(client, project, mastodon.url)["Location"]))
    account = NetworkAccount.objects.get()
    NetworkAccount.objects.filter(pk=account.pk).update(needs_reconnect=True)
    client.get(_consent(_start(client, project, mastodon.url)["Location"]))
    account = NetworkAccount.objects.get()  # the same account, not a second one
    assert account.needs_reconnect is False


def test_a_wrong_code_is_refused_without_the_instances_words(client, owner, project, mastodon):
    client.force_login(owner)
    back = _consent(_start(client, project, mastodon.url)["Location"])
    mastodon.codes.clear()  # the code expired at the instance
    page = client.get(back, follow=True).content.decode()
    assert "Mastodon refused access" in page and "invalid_grant" not in page
    assert not NetworkAccount.objects.exists()
    assert mastodon_oauth.SESSION_KEY not in client.session
