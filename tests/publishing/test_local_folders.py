"""Each user's local sources read only that user's folder (``<root>/<user id>/``), by any path:
absolute, ``../``, a symlink into another user's folder, a caption symlinked to /etc/passwd,
a path handed to the API's task endpoint; checked again at scan and publish time. A path
outside gets one answer whether it exists or not, and no answer names a server path."""

from __future__ import annotations

import os

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from publishing import folders
from publishing.media import MediaError, open_media
from publishing.models import ContentSource, PublishingTask
from publishing.scan import source_scan
from publishing.services import project_create, source_create, task_create

from .conftest import png_bytes

OUTSIDE = "That path is not inside your folder."


@pytest.fixture
def alice_folder(local_root, owner):
    """Alice's folder: a picture, its caption, a sub-folder."""
    folder = local_root / str(owner.pk)
    (folder / "private").mkdir(parents=True)
    (folder / "private" / "secret.png").write_bytes(png_bytes(1))
    (folder / "private" / "secret.txt").write_text("Alice's secret caption")
    return folder


@pytest.fixture
def bob_folder(local_root, other_user):
    folder = local_root / str(other_user.pk)
    folder.mkdir()
    return folder


@pytest.fixture
def bob_project(other_user):
    return project_create(owner=other_user, name="Bob's")


def _source_error(project, path: str) -> str:
    with pytest.raises(ValidationError) as error:
        source_create(project=project, source_type="local_folder", path_or_identifier=path)
    return " ".join(error.value.message_dict["path_or_identifier"])


def _paths_into_alice(alice_folder, bob_folder) -> list[str]:
    return [
        str(alice_folder / "private"),  # absolute
        f"../{alice_folder.name}/private",  # relative, climbing out of Bob's folder
        str(bob_folder / ".." / alice_folder.name / "private"),
        "/etc",
        "/",
        str(alice_folder.parent),  # the root itself
    ]


def test_b_cannot_add_a_source_on_as_folder_by_any_path(alice_folder, bob_folder, bob_project):
    (bob_folder / "link").symlink_to(alice_folder / "private")
    for path in [*_paths_into_alice(alice_folder, bob_folder), "link", str(bob_folder / "link")]:
        assert _source_error(bob_project, path) == OUTSIDE, path
    assert not ContentSource.objects.exists()


def test_an_outside_path_gets_the_same_answer_whether_it_exists_or_not(client, other_user, alice_folder, bob_project):
    client.force_login(other_user)
    answers = []
    for path in [str(alice_folder / "private"), str(alice_folder / "no-such-folder"), "/etc", "/no/such/dir"]:
        response = client.post(
            reverse("publishing:source_add", args=[bob_project.pk]),
            {"source_type": "local_folder", "path_or_identifier": path},
        )
        page = response.content.decode().replace(path, "")  # the form echoes the input back
        assert str(alice_folder.parent) not in page
        answers.append((response.status_code, response.context["source_form"].errors.as_json()))
    assert len(set(answers)) == 1
    assert answers[0][0] == 400 and OUTSIDE in answers[0][1]


def test_the_api_task_endpoint_cannot_reach_into_as_folder(api_client_for, other_user, alice_folder, bob_project):
    api = api_client_for(other_user, ["tasks:create"])
    bodies = []
    existing = str(alice_folder / "private" / "secret.png")
    missing = str(alice_folder / "private" / "nothing.png")
    for path in [existing, missing, f"../{alice_folder.name}/private/secret.png", "/etc/passwd", "/etc/nothing.png"]:
        response = api.post("/api/v1/publishing/tasks", {"project": bob_project.pk, "media_path": path}, format="json")
        assert response.status_code == 400, path
        bodies.append(response.content)
    assert len(set(bodies)) == 1, "an outside path must not tell whether something is there"
    assert OUTSIDE in bodies[0].decode() and str(alice_folder.parent) not in bodies[0].decode()
    assert not PublishingTask.objects.exists()


def test_a_symlink_inside_bs_folder_into_as_is_no_item_at_scan_time(alice_folder, bob_folder, bob_project):
    (bob_folder / "mine.png").write_bytes(png_bytes(2))
    (bob_folder / "stolen.png").symlink_to(alice_folder / "private" / "secret.png")
    source = source_create(project=bob_project, source_type="local_folder", path_or_identifier=".")
    assert source_scan(source=source).created == 1
    assert list(PublishingTask.objects.values_list("media_path", flat=True)) == [str(bob_folder / "mine.png")]


def test_a_caption_symlinked_to_etc_passwd_is_never_read(alice_folder, bob_folder, bob_project):
    (bob_folder / "cat.png").write_bytes(png_bytes(3))
    (bob_folder / "cat.txt").symlink_to("/etc/passwd")
    source = source_create(project=bob_project, source_type="local_folder", path_or_identifier=str(bob_folder))
    result = source_scan(source=source)
    assert result.created == 0 and result.error == f"cat.txt: {OUTSIDE}"
    assert "root:" not in result.error and "/etc" not in result.error
    # A link to something outside that does not exist gets the same answer.
    (bob_folder / "cat.txt").unlink()
    (bob_folder / "cat.txt").symlink_to("/etc/no-such-file")
    assert source_scan(source=source).error == f"cat.txt: {OUTSIDE}"
    (bob_folder / "cat.txt").unlink()
    (bob_folder / "cat.json").symlink_to(alice_folder / "private" / "secret.txt")
    assert source_scan(source=source).error == f"cat.json: {OUTSIDE}"
    assert not PublishingTask.objects.exists()


def test_a_folder_swapped_for_a_symlink_after_it_was_added_is_refused_at_scan(alice_folder, bob_folder, bob_project):
    (bob_folder / "pics").mkdir()
    source = source_create(project=bob_project, source_type="local_folder", path_or_identifier="pics")
    (bob_folder / "pics").rmdir()
    (bob_folder / "pics").symlink_to(alice_folder / "private")
    result = source_scan(source=source)
    assert result.error == OUTSIDE and not PublishingTask.objects.exists()


def test_a_media_file_swapped_for_a_symlink_is_refused_at_publish(alice_folder, bob_folder, bob_project):
    (bob_folder / "dog.png").write_bytes(png_bytes(4))
    task = task_create(project=bob_project, media_path="dog.png")
    (bob_folder / "dog.png").unlink()
    (bob_folder / "dog.png").symlink_to(alice_folder / "private" / "secret.png")
    with pytest.raises(MediaError) as error:
        with open_media(task, task.content_data["media"]):
            pass
    assert str(error.value) == OUTSIDE


def test_open_file_does_not_follow_a_symlink_put_in_place_after_the_check(bob_folder, other_user, monkeypatch):
    (bob_folder / "real.png").write_bytes(png_bytes(5))
    (bob_folder / "swap.png").write_bytes(png_bytes(6))
    real_resolve = folders.resolve

    def resolve_then_swap(user_id, path):
        resolved = real_resolve(user_id, path)
        os.unlink(resolved)
        os.symlink("/etc/passwd", resolved)  # the race: swapped between the check and the open
        return resolved

    monkeypatch.setattr(folders, "resolve", resolve_then_swap)
    with pytest.raises(folders.NotAFile):
        folders.open_file(other_user.pk, bob_folder / "swap.png")


def test_each_user_gets_a_folder_of_their_own_on_demand_and_sees_only_its_name(
    client, owner, local_root, project, staff, api_client_for
):
    assert not (local_root / str(owner.pk)).exists()
    client.force_login(owner)
    page = client.get(reverse("publishing:project_detail", args=[project.pk])).content.decode()
    assert f"<code>{owner.pk}/</code>" in page and str(local_root) not in page
    (local_root / str(owner.pk) / "photos").mkdir(parents=True)
    source = source_create(project=project, source_type="local_folder", path_or_identifier="photos")
    page = client.get(reverse("publishing:project_detail", args=[project.pk])).content.decode()
    assert "<code>photos</code>" in page and str(local_root) not in page
    # The API shows the same relative path; staff see the full one in the admin.
    listed = api_client_for(owner, ["publishing:read"]).get(f"/api/v1/publishing/projects/{project.pk}/sources").json()
    assert listed["results"][0]["path_or_identifier"] == "photos"
    client.force_login(staff)
    admin_page = client.get(reverse("admin:publishing_contentsource_change", args=[source.pk])).content.decode()
    assert str(local_root / str(owner.pk)) in admin_page


def test_inside_their_own_folder_a_user_is_told_what_is_missing(project, media_root):
    message = _source_error(project, "not-there")
    assert message == "There is no folder not-there in your folder."
    with pytest.raises(ValidationError) as error:
        task_create(project=project, media_path="nothing.png")
    assert error.value.message_dict["media_path"] == ["No image, GIF or video at this path."]
    assert str(media_root) not in str(error.value)
