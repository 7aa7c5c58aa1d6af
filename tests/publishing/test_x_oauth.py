"""Connecting X by OAuth 2.0 (authorization code + PKCE): the state and the verifier are
checked, tokens are encrypted at rest, the access token is refreshed before it expires (X
rotates the refresh token, so two workers never both spend it), and a grant X no longer
accepts puts the project in "Reconnect". The real tweepy client and requests run against
the local X double (xdouble.py), which plays X's authorization server too."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from publishing import x_oauth
from publishing.composer import PostIn, post_create
from publishing.models import Project, PublishingAlert, PublishingTask
from publishing.runner import publish_due
from publishing.services import project_create
from tests.clock import NOW

from .conftest import png_bytes
from .xdouble import XDouble

AUTHORIZE = "https://x.test/i/oauth2/authorize"


@pytest.fixture
def x(settings):
    with XDouble() as double:
        settings.PUBLISHING_X_BASE_URL = double.url
        settings.PUBLISHING_X_OAUTH_CLIENT_ID = double.client_id
        settings.PUBLISHING_X_OAUTH_CLIENT_SECRET = double.client_secret
        settings.PUBLISHING_X_OAUTH_AUTHORIZE_URL = AUTHORIZE
        yield double


def _connect(client, user: User, project: Project, x: XDouble, account: str = "alice"):
    client.force_login(user)
    start = client.post(reverse("publishing:x_connect", args=[project.pk]))
    assert start.status_code == 302 and start["Location"].startswith(AUTHORIZE)
    done = client.get(reverse("publishing:x_callback"), x.consent(account, start["Location"]))
    project.refresh_from_db()
    return start, done


def _post(project, text="Hello from OAuth 2.0", **extra) -> PublishingTask:
    # Due a minute ago by the test's clock, wherever the test moved it.
    return post_create(
        project=project, posts=[PostIn(text=text, **extra)], scheduled_at=timezone.now() - timedelta(minutes=1)
    )


@pytest.mark.django_db
def test_connecting_uses_state_and_pkce_and_stores_the_tokens_encrypted(client, owner, x, time_machine):
    time_machine.move_to(NOW, tick=False)
    project = project_create(owner=owner, name="OAuth")
    start, done = _connect(client, owner, project, x)
    query = {k: v[0] for k, v in parse_qs(urlsplit(start["Location"]).query).items()}
    assert query["response_type"] == "code" and query["client_id"] == x.client_id
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert set(query["scope"].split()) == {"tweet.read", "tweet.write", "users.read", "media.write", "offline.access"}
    assert len(query["state"]) >= 32 and x.client_secret not in start["Location"]
    assert done["Location"] == reverse("publishing:project_detail", args=[project.pk])

    assert project.x_connected and project.has_credentials and project.x_oauth_account == "alice"
    assert project.x_oauth_expires_at == NOW + timedelta(hours=2)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT x_oauth_refresh_token, x_oauth_access_token FROM {Project._meta.db_table} WHERE id = %s",
            [project.pk],
        )
        refresh_raw, access_raw = cursor.fetchone()
    assert project.x_oauth_refresh_token.startswith("rt-alice-") and project.x_oauth_refresh_token not in refresh_raw
    assert project.x_oauth_access_token not in access_raw
    page = client.get(reverse("publishing:project_detail", args=[project.pk])).content.decode()
    assert "@alice" in page and "Disconnect X" in page
    assert project.x_oauth_refresh_token not in page and project.x_oauth_access_token not in page


@pytest.mark.django_db
def test_a_wrong_state_or_a_wrong_verifier_connects_nothing(client, owner, other_user, x):
    project = project_create(owner=owner, name="OAuth")
    client.force_login(owner)
    start = client.post(reverse("publishing:x_connect", args=[project.pk]))
    answer = x.consent("alice", start["Location"])
    forged = client.get(reverse("publishing:x_callback"), {**answer, "state": "x" * 43}, follow=True)
    assert "does not belong to this session" in forged.content.decode()
    # The forged try used the flow up; another user's session has no flow at all.
    assert client.get(reverse("publishing:x_callback"), answer).status_code == 302
    other = client.__class__()
    other.force_login(other_user)
    other.get(reverse("publishing:x_callback"), answer)
    assert x.token_calls == []

    # The right state with a code bound to another challenge: X refuses the verifier.
    start = client.post(reverse("publishing:x_connect", args=[project.pk]))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    stolen = x.consent("alice", start["Location"].replace("code_challenge=", "code_challenge=AAAA"))
    refused = client.get(reverse("publishing:x_callback"), {"state": state, "code": stolen["code"]}, follow=True)
    assert "X refused access" in refused.content.decode()
    assert len(x.token_calls) == 1
    project.refresh_from_db()
    assert not project.x_connected


@pytest.mark.django_db
def test_an_outsider_or_a_viewer_cannot_connect_or_disconnect(client, owner, other_user, x):
    project = project_create(owner=owner, name="OAuth")
    client.force_login(other_user)
    assert client.post(reverse("publishing:x_connect", args=[project.pk])).status_code == 404
    assert client.post(reverse("publishing:x_disconnect", args=[project.pk])).status_code == 404
    other_user.role = User.Role.VIEWER
    other_user.save()
    assert client.get(reverse("publishing:x_callback"), {"state": "s", "code": "c"}).status_code == 403


@pytest.mark.django_db
def test_posts_go_out_with_the_bearer_token_and_images_through_v2_upload(client, owner, x, time_machine, media_root):
    time_machine.move_to(NOW, tick=False)
    project = project_create(owner=owner, name="OAuth", slot_interval_minutes=30, daily_cap=100)
    _connect(client, owner, project, x)
    (media_root / "cat.png").write_bytes(png_bytes(3))
    task = _post(project, media=[{"path": "cat.png", "alt_text": "A cat"}])
    stats = publish_due(max_batches=1)
    task.refresh_from_db()
    assert stats.published == 1, task.last_error
    [creation] = x.creations
    assert creation.account == "alice" and creation.text == "Hello from OAuth 2.0"
    assert len(creation.media_ids) == 1 and creation.media_hashes[0] == task.media_hash


@pytest.mark.django_db(transaction=True)
def test_the_token_is_refreshed_before_it_expires_and_rotated_once_across_workers(client, owner, x, time_machine):
    time_machine.move_to(NOW, tick=False)
    project = project_create(owner=owner, name="OAuth", slot_interval_minutes=30, daily_cap=100)
    _connect(client, owner, project, x)
    first_refresh = project.x_oauth_refresh_token
    # 1 h 56 min later: still valid at X, but within the margin: refreshed first.
    time_machine.move_to(NOW + timedelta(hours=2) - x_oauth.EXPIRY_MARGIN + timedelta(minutes=1), tick=False)
    copies = [Project.objects.get(pk=project.pk) for _ in range(4)]
    tokens, errors = [], []

    def refresh(copy):
        try:
            tokens.append(x_oauth.access_token(copy))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=refresh, args=(c,)) for c in copies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    refreshes = [c for c in x.token_calls if c["grant_type"] == "refresh_token"]
    assert len(refreshes) == 1 and refreshes[0]["refresh_token"] == first_refresh
    assert len(set(tokens)) == 1
    project.refresh_from_db()
    assert project.x_oauth_refresh_token != first_refresh and not project.needs_credentials

    _post(project)
    assert publish_due(max_batches=1).published == 1  # the refreshed token posts


@pytest.mark.django_db
def test_a_revoked_grant_puts_the_project_in_reconnect_and_reconnecting_lifts_it(client, owner, x, time_machine):
    time_machine.move_to(NOW, tick=False)
    project = project_create(owner=owner, name="OAuth", slot_interval_minutes=30, daily_cap=100)
    _connect(client, owner, project, x)
    x.revoke_all("alice")  # the owner removed the app in X's settings
    task = _post(project)
    publish_due(max_batches=1)
    project.refresh_from_db()
    task.refresh_from_db()
    assert project.needs_credentials and task.status == PublishingTask.Status.PENDING
    assert x.creations == []
    page = client.get(reverse("publishing:project_detail", args=[project.pk])).content.decode()
    assert "Reconnect X" in page
    rejected = PublishingAlert.objects.filter(project=project, kind=PublishingAlert.Kind.CREDENTIALS_REJECTED)
    assert rejected.count() == 1 and rejected.get().open_marker  # the owner is told once
    _post(project, text="A second post while X refuses")
    publish_due(max_batches=1)
    assert rejected.count() == 1

    # Refresh refused (invalid_grant) once the access token has run out: the same state.
    time_machine.move_to(NOW + timedelta(hours=3), tick=False)
    project.needs_credentials = False
    project.save(update_fields=["needs_credentials"])
    with pytest.raises(x_oauth.XAuthError) as refused:
        x_oauth.access_token(project)
    assert refused.value.revoked
    project.refresh_from_db()
    assert project.needs_credentials

    _connect(client, owner, project, x)
    assert project.x_connected and not project.needs_credentials
    assert not rejected.filter(open_marker=True).exists()  # reconnecting ends the incident
    time_machine.move_to(task.scheduled_at + timedelta(hours=3, minutes=1), tick=False)
    assert publish_due(max_batches=1).published == 2  # both waited; each posted once
    assert sorted(c.text for c in x.creations) == sorted([task.text, "A second post while X refuses"])


@pytest.mark.django_db
def test_disconnect_forgets_the_tokens_and_revokes_them_at_x(client, owner, x):
    project = project_create(owner=owner, name="OAuth")
    _connect(client, owner, project, x)
    refresh = project.x_oauth_refresh_token
    client.post(reverse("publishing:x_disconnect", args=[project.pk]))
    project.refresh_from_db()
    assert not project.x_connected and project.x_oauth_access_token == "" and not project.has_credentials
    assert x.revoked == [refresh]


@pytest.mark.django_db
def test_the_admin_and_the_api_never_show_the_tokens(client, owner, staff, x, api_client_for):
    project = project_create(owner=owner, name="OAuth")
    _connect(client, owner, project, x)
    client.force_login(staff)
    page = client.get(reverse("admin:publishing_project_change", args=[project.pk])).content.decode()
    assert "alice" in page
    assert project.x_oauth_refresh_token not in page and project.x_oauth_access_token not in page
    api = api_client_for(owner, ["publishing:read"])
    body = api.get(f"/api/v1/publishing/projects/{project.pk}").json()
    assert body["x_connected"] is True and body["x_oauth_account"] == "alice"
    assert project.x_oauth_refresh_token not in str(body) and project.x_oauth_access_token not in str(body)
