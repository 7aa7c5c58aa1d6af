"""The composer's API: threads with media and alt text, X's length rules as a 400 naming the
post, edit and delete while queued, duplicate, uploads typed by their bytes, and an outsider
who can touch none of it. Sources apply the same rule: a caption X would refuse is flagged."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from publishing.models import PublishingTask, ThreadReply
from publishing.scan import source_scan
from tests.conftest import make_api_client

from .conftest import png_bytes

pytestmark = pytest.mark.django_db
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"


@pytest.fixture
def api(owner):
    return make_api_client(owner, ["publishing:read", "publishing:write", "tasks:create"])


@pytest.fixture
def outsider_api(other_user):
    return make_api_client(other_user, ["publishing:read", "publishing:write", "tasks:create"])


def _upload(api, data: bytes, name: str = "a.png"):
    return api.post(reverse("api:publishing_media"), {"file": io.BytesIO(data)}, format="multipart")


def _create(api, project, posts, **extra):
    return api.post(reverse("api:publishing_posts"), {"project": project.pk, "posts": posts, **extra}, format="json")


def test_it_queues_a_thread_with_images_and_alt_text(api, project, media_root):
    paths = [_upload(api, png_bytes(n)).json()["path"] for n in range(4)]
    media = [{"path": p, "alt_text": f"Cat {n}"} for n, p in enumerate(paths)]
    answer = _create(api, project, [{"text": "Four cats", "media": media}, {"text": "More soon 日本"}])
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert [p["text"] for p in body["posts"]] == ["Four cats", "More soon 日本"]
    assert body["posts"][1]["weighted_length"] == 14
    assert [m["alt_text"] for m in body["posts"][0]["media"]] == ["Cat 0", "Cat 1", "Cat 2", "Cat 3"]
    task = PublishingTask.objects.get(pk=body["id"])
    assert task.reply_count == 1 and task.replies.get().text == "More soon 日本"
    assert all(p.startswith("composer/") for p in paths)  # inside the owner's own folder
    assert all((media_root / p).is_file() for p in paths)


def test_a_reply_too_long_for_x_is_a_400_naming_the_post_and_the_count(api, project):
    answer = _create(api, project, [{"text": "Fine"}, {"text": "字" * 141}])
    assert answer.status_code == 400
    errors = answer.json()["errors"] if "errors" in answer.json() else answer.json()
    assert "posts[1].text" in str(errors)
    assert "282" in str(errors)
    assert not PublishingTask.objects.exists()


def test_a_url_counts_23_so_a_long_link_fits(api, project):
    answer = _create(api, project, [{"text": "x" * 250 + " https://example.com/" + "a" * 300}])
    assert answer.status_code == 201, answer.json()


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ([png_bytes(n) for n in range(5)], "At most 4 images"),
        ([png_bytes(1), GIF], "one GIF"),
    ],
)
def test_it_refuses_more_media_than_x_takes(api, project, media_root, files, reason):
    media = [{"path": _upload(api, data).json()["path"]} for data in files]
    answer = _create(api, project, [{"text": "Too much", "media": media}])
    assert answer.status_code == 400
    assert reason in str(answer.json())


def test_an_upload_is_typed_by_its_bytes_not_its_name(api, media_root):
    answer = _upload(api, b"#!/bin/sh\necho hi\n", name="cat.png")
    assert answer.status_code == 400
    assert "file" in str(answer.json())
    assert _upload(api, GIF).json()["kind"] == "gif"


def test_an_upload_over_xs_image_limit_is_refused(api, media_root, settings):
    big = png_bytes(1) + b"\0" * (5 * 1024 * 1024)
    assert _upload(api, big).status_code == 400
    assert not list((media_root / "composer").glob("*"))


def test_it_edits_a_queued_post_and_replaces_its_thread(api, project):
    task_id = _create(api, project, [{"text": "One"}, {"text": "Two"}, {"text": "Three"}]).json()["id"]
    answer = api.patch(
        reverse("api:publishing_post", args=[task_id]), {"posts": [{"text": "Only one now"}]}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    task = PublishingTask.objects.get(pk=task_id)
    assert task.text == "Only one now" and task.reply_count == 0
    assert not ThreadReply.objects.filter(task=task).exists()


def test_a_published_post_cannot_be_edited_or_deleted_but_can_be_duplicated(api, project):
    task_id = _create(api, project, [{"text": "Done"}, {"text": "And its reply"}]).json()["id"]
    PublishingTask.objects.filter(pk=task_id).update(status=PublishingTask.Status.SUCCESS)
    url = reverse("api:publishing_post", args=[task_id])
    assert api.patch(url, {"posts": [{"text": "Changed"}]}, format="json").status_code == 400
    assert api.delete(url).status_code == 400
    copy = api.post(reverse("api:publishing_post_duplicate", args=[task_id]))
    assert copy.status_code == 201
    assert copy.json()["status"] == PublishingTask.Status.PENDING
    assert [p["text"] for p in copy.json()["posts"]] == ["Done", "And its reply"]


def test_it_deletes_a_queued_thread(api, project):
    task_id = _create(api, project, [{"text": "One"}, {"text": "Two"}]).json()["id"]
    assert api.delete(reverse("api:publishing_post", args=[task_id])).status_code == 204
    assert not PublishingTask.objects.exists() and not ThreadReply.objects.exists()


def test_an_outsider_cannot_read_edit_delete_or_duplicate_anothers_post(api, outsider_api, project):
    task_id = _create(api, project, [{"text": "Mine"}]).json()["id"]
    url = reverse("api:publishing_post", args=[task_id])
    assert outsider_api.get(url).status_code == 404
    assert outsider_api.patch(url, {"posts": [{"text": "Theirs"}]}, format="json").status_code == 404
    assert outsider_api.delete(url).status_code == 404
    assert outsider_api.post(reverse("api:publishing_post_duplicate", args=[task_id])).status_code == 404
    assert _create(outsider_api, project, [{"text": "In your project"}]).status_code == 400
    assert PublishingTask.objects.get().text == "Mine" and PublishingTask.objects.count() == 1


def test_an_outsider_cannot_post_a_file_from_anothers_folder(api, outsider_api, project, media_root, other_user):
    path = _upload(api, png_bytes(3)).json()["path"]
    outsider_project = _project_of(other_user)
    answer = _create(outsider_api, outsider_project, [{"text": "x", "media": [{"path": str(media_root / path)}]}])
    assert answer.status_code == 400
    assert "posts[0].media[0].path" in str(answer.json())


def _project_of(user):
    from publishing.services import project_create

    return project_create(owner=user, name="Theirs")


def test_the_length_endpoint_counts_as_x_does(api):
    answer = api.post(reverse("api:publishing_length"), {"text": "看 https://example.com 😀"}, format="json")
    assert answer.json() == {"weighted_length": 2 + 1 + 23 + 1 + 2, "limit": 280, "fits": True}


def test_a_source_caption_too_long_for_x_is_flagged_not_queued(folder_source, media_root):
    (media_root / "long.png").write_bytes(png_bytes(1))
    (media_root / "long.txt").write_text("字" * 150)
    (media_root / "short.png").write_bytes(png_bytes(2))
    (media_root / "short.txt").write_text("Fits")
    source_scan(source=folder_source)
    long, short = (PublishingTask.objects.get(media_path__endswith=n) for n in ("long.png", "short.png"))
    assert long.too_long and long.status == PublishingTask.Status.FAILED
    assert "300" in long.last_error
    assert not short.too_long and short.status == PublishingTask.Status.PENDING
