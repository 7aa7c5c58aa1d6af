"""Google Drive per project: OAuth 2.0 (state bound to the session, PKCE), the refresh token
encrypted, the operator's credential never sent for a user's project, and no user reads
another's Drive. The real HTTP code runs against a local double of Google (gdouble.py)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from publishing.media import open_media
from publishing.models import Project, PublishingTask
from publishing.scan import source_scan
from publishing.services import project_create, source_create

from .gdouble import CLIENT_ID, CLIENT_SECRET, GoogleDouble

OPERATOR_TOKEN = "op-token-OPERATOR-SECRET"
AUTHORIZE = "https://accounts.google.test/o/oauth2/v2/auth"


def _file(file_id: str) -> dict:
    return {"id": file_id, "name": f"{file_id}.png", "mimeType": "image/png", "description": f"Caption {file_id}"}


@pytest.fixture
def google(settings):
    with GoogleDouble() as double:
        settings.PUBLISHING_GOOGLE_DRIVE_BASE_URL = double.url
        settings.PUBLISHING_GOOGLE_OAUTH_TOKEN_URL = f"{double.url}/token"
        settings.PUBLISHING_GOOGLE_OAUTH_REVOKE_URL = f"{double.url}/revoke"
        settings.PUBLISHING_GOOGLE_OAUTH_AUTHORIZE_URL = AUTHORIZE
        settings.PUBLISHING_GOOGLE_OAUTH_CLIENT_ID = CLIENT_ID
        settings.PUBLISHING_GOOGLE_OAUTH_CLIENT_SECRET = CLIENT_SECRET
        settings.PUBLISHING_GOOGLE_DRIVE_CREDENTIAL = OPERATOR_TOKEN
        # The double listens on 127.0.0.1: the same override the local feed doubles use.
        settings.OUTBOUND_ALLOW_PRIVATE = True
        double.add_account("alice", "alice@gmail.test", {"root": [_file("a-root")], "A-FOLDER": [_file("a-1")]})
        double.add_account("bob", "bob@gmail.test", {"root": [_file("b-root")]})
        double.add_account("operator", "ops@cradle.test", {"root": [_file("op-secret-file")]})
        double.grant("operator", OPERATOR_TOKEN)
        yield double


def _connect(client, user: User, project: Project, google: GoogleDouble, account: str):
    client.force_login(user)
    response = client.post(reverse("publishing:drive_connect", args=[project.pk]))
    assert response.status_code == 302 and response["Location"].startswith(AUTHORIZE)
    answer = google.consent(account, response["Location"])
    done = client.get(reverse("publishing:drive_callback"), answer)
    project.refresh_from_db()
    assert project.drive_connected
    return done


def _drive_project(user: User, name: str = "Drive") -> Project:
    return project_create(owner=user, name=name)


def test_it_connects_by_authorization_code_with_state_and_pkce(client, owner, google):
    project = _drive_project(owner)
    client.force_login(owner)
    start = client.post(reverse("publishing:drive_connect", args=[project.pk]))
    query = {k: v[0] for k, v in parse_qs(urlsplit(start["Location"]).query).items()}
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["access_type"] == "offline" and query["scope"].endswith("/auth/drive.readonly")
    assert query["redirect_uri"].endswith(reverse("publishing:drive_callback"))
    assert len(query["state"]) >= 32 and CLIENT_SECRET not in start["Location"]

    answer = google.consent("alice", start["Location"])
    done = client.get(reverse("publishing:drive_callback"), answer)
    assert done.status_code == 302 and done["Location"] == reverse("publishing:project_detail", args=[project.pk])
    project.refresh_from_db()
    assert project.drive_connected and project.gdrive_account == "alice@gmail.test"
    token_call = next(s for s in google.seen if s.path == "/token")
    assert token_call.form["grant_type"] == "authorization_code" and len(token_call.form["code_verifier"]) >= 43
    # Stored encrypted, like the X credentials: the column does not hold the token.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT gdrive_refresh_token FROM {Project._meta.db_table} WHERE id = %s", [project.pk])
        stored = cursor.fetchone()[0]
    assert project.gdrive_refresh_token.startswith("rt-alice-") and project.gdrive_refresh_token not in stored

    page = client.get(reverse("publishing:project_detail", args=[project.pk])).content.decode()
    assert "alice@gmail.test" in page and "Disconnect Google Drive" in page
    assert project.gdrive_refresh_token not in page and project.gdrive_access_token not in page


def test_a_state_this_session_did_not_start_is_refused_and_no_code_is_traded(client, owner, other_user, google):
    project = _drive_project(owner)
    client.force_login(owner)
    start = client.post(reverse("publishing:drive_connect", args=[project.pk]))
    answer = google.consent("alice", start["Location"])
    # A forged link with another state, then a replay of the right one from another session.
    forged = client.get(reverse("publishing:drive_callback"), {**answer, "state": "x" * 43})
    assert forged.status_code == 302
    other = client.__class__()
    other.force_login(other_user)
    assert other.get(reverse("publishing:drive_callback"), answer).status_code == 302
    # The forged try used the session's flow up: the right state no longer works either.
    assert client.get(reverse("publishing:drive_callback"), answer).status_code == 302
    project.refresh_from_db()
    assert not project.drive_connected
    assert not [s for s in google.seen if s.path == "/token"]


def test_a_viewer_cannot_connect_or_finish_a_connection(client, owner, google):
    project = _drive_project(owner)
    owner.role = User.Role.VIEWER
    owner.save()
    client.force_login(owner)
    assert client.post(reverse("publishing:drive_connect", args=[project.pk])).status_code == 403
    assert client.get(reverse("publishing:drive_callback"), {"state": "s", "code": "c"}).status_code == 403


def test_scans_send_the_projects_own_token_and_refresh_it_when_it_expired(client, owner, google, time_machine):
    project = _drive_project(owner)
    _connect(client, owner, project, google, "alice")
    source = source_create(project=project, source_type="google_drive", path_or_identifier="root")
    project.refresh_from_db()
    first_token = project.gdrive_access_token
    assert source_scan(source=source).created == 1
    assert google.drive_calls()[-1].authorization == f"Bearer {first_token}"

    time_machine.move_to(timezone.now() + timedelta(hours=2), tick=False)
    source_scan(source=source)
    refresh = [s for s in google.seen if s.path == "/token" and s.form["grant_type"] == "refresh_token"]
    assert len(refresh) == 1
    project.refresh_from_db()
    assert project.gdrive_access_token != first_token
    assert google.drive_calls()[-1].authorization == f"Bearer {project.gdrive_access_token}"


def test_the_operator_credential_is_never_sent_for_a_users_project(client, other_user, google):
    # Bob names the folder "root": before, that listed the operator's Drive.
    project = _drive_project(other_user)
    source = source_create(project=project, source_type="google_drive", path_or_identifier="root")
    result = source_scan(source=source)
    assert result.created == 0 and "Connect Google Drive" in result.error
    assert google.drive_calls() == []  # nothing was sent at all
    # Connected, Bob's scans carry Bob's token and read Bob's root only.
    _connect(client, other_user, project, google, "bob")
    source.project = project
    assert source_scan(source=source).created == 1
    assert list(PublishingTask.objects.values_list("media_path", flat=True)) == ["gdrive:b-root"]
    assert OPERATOR_TOKEN not in google.tokens_sent()
    assert {s.authorization for s in google.drive_calls()} == {f"Bearer {google_token(project)}"}


def google_token(project: Project) -> str:
    project.refresh_from_db()
    return project.gdrive_access_token


def test_only_a_project_staff_marked_as_the_operators_reads_with_the_operator_credential(owner, google):
    project = _drive_project(owner, "Operator's own")
    project.uses_operator_drive = True
    project.save()
    source = source_create(project=project, source_type="google_drive", path_or_identifier="root")
    assert source_scan(source=source).created == 1
    assert google.tokens_sent() == [OPERATOR_TOKEN]


def test_the_flag_is_not_offered_to_owners_on_the_page_or_the_api(client, owner, api_client_for):
    project = _drive_project(owner)
    client.force_login(owner)
    client.post(
        reverse("publishing:project_detail", args=[project.pk]),
        {"name": "Drive", "daily_cap": "10", "duplicate_window_days": "7", "uses_operator_drive": "on"},
    )
    api = api_client_for(owner, ["publishing:read", "publishing:write"])
    api.patch(f"/api/v1/publishing/projects/{project.pk}", {"uses_operator_drive": True}, format="json")
    project.refresh_from_db()
    assert project.uses_operator_drive is False


def test_user_b_cannot_read_user_as_drive_files(client, owner, other_user, google):
    alice_project = _drive_project(owner)
    _connect(client, owner, alice_project, google, "alice")
    alice_source = source_create(project=alice_project, source_type="google_drive", path_or_identifier="A-FOLDER")
    assert source_scan(source=alice_source).created == 1

    bob_project = _drive_project(other_user)
    _connect(client, other_user, bob_project, google, "bob")
    bob_source = source_create(project=bob_project, source_type="google_drive", path_or_identifier="A-FOLDER")
    result = source_scan(source=bob_source)
    assert result.created == 0 and result.error
    assert not PublishingTask.objects.filter(project=bob_project).exists()
    # Nor by naming Alice's file in a task of Bob's: the download goes out with Bob's token.
    task = PublishingTask.objects.create(
        project=bob_project,
        source=bob_source,
        media_path="gdrive:a-1",
        content_data={"media": {"kind": "gdrive", "file_id": "a-1", "name": "a-1.png"}},
        scheduled_at=timezone.now(),
    )
    with pytest.raises(Exception) as error:
        with open_media(task, task.content_data["media"]):
            pass
    assert "bytes of a-1" not in str(error.value)
    bob_token = google_token(bob_project)
    assert [s.authorization for s in google.drive_calls() if "a-1" in s.path] == [f"Bearer {bob_token}"]


def test_disconnect_forgets_the_tokens_and_revokes_them_at_google(client, owner, google):
    project = _drive_project(owner)
    _connect(client, owner, project, google, "alice")
    project.refresh_from_db()
    refresh_token = project.gdrive_refresh_token
    response = client.post(reverse("publishing:drive_disconnect", args=[project.pk]))
    assert response.status_code == 302
    project.refresh_from_db()
    assert not project.drive_connected and project.gdrive_access_token == "" and project.gdrive_account == ""
    assert google.revoked == [refresh_token]


def test_access_withdrawn_at_google_disconnects_the_project_with_a_plain_sentence(client, owner, google, time_machine):
    project = _drive_project(owner)
    _connect(client, owner, project, google, "alice")
    project.refresh_from_db()
    google.revoked.append(project.gdrive_refresh_token)  # the owner removed Cradle in their Google account
    time_machine.move_to(timezone.now() + timedelta(hours=2), tick=False)
    source = source_create(project=project, source_type="google_drive", path_or_identifier="root")
    result = source_scan(source=source)
    assert result.error == "Google Drive access was withdrawn; connect Google Drive again."
    project.refresh_from_db()
    assert not project.drive_connected


def test_an_outsider_cannot_connect_or_disconnect_someone_elses_project(client, owner, other_user, google):
    project = _drive_project(owner)
    client.force_login(other_user)
    assert client.post(reverse("publishing:drive_connect", args=[project.pk])).status_code == 404
    assert client.post(reverse("publishing:drive_disconnect", args=[project.pk])).status_code == 404
