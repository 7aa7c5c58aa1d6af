"""The composer pages: write a thread with images and alt text, the X-like preview, edit,
delete and duplicate; X's length rule as a form error; an outsider can reach none of it;
the queue and composer pages read a flat number of queries however many posts there are."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from publishing.composer import PostIn, post_create
from publishing.models import PublishingTask

from .conftest import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def _file(data: bytes, name: str = "cat.png"):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def test_it_queues_a_thread_written_on_the_page_with_an_image_and_its_alt_text(signed_in, project, media_root):
    url = reverse("publishing:compose")
    page = signed_in.post(url, {"project": project.pk, "post_count": 1, "text_0": "Hello", "action": "add_reply"})
    assert page.status_code == 200
    assert page.context["post_count"] == 2
    answer = signed_in.post(
        url,
        {
            "project": project.pk,
            "post_count": 2,
            "text_0": "A cat https://example.com/cats",
            "files_0": _file(png_bytes(4)),
            "newalt_0_0": "A grey cat asleep",
            "text_1": "And a reply",
            "action": "save",
        },
    )
    task = PublishingTask.objects.get()
    assert answer.status_code == 302 and answer.url == reverse("publishing:post_preview", args=[task.pk])
    assert task.reply_count == 1 and task.replies.get().text == "And a reply"
    assert task.content_data["media_items"][0]["alt_text"] == "A grey cat asleep"
    preview = signed_in.get(answer.url).content.decode()
    assert '<a href="https://example.com/cats"' in preview
    assert 'alt="A grey cat asleep"' in preview and ">ALT<" in preview
    assert "x-threaded" in preview  # the first post drawn as the start of a thread
    image = signed_in.get(reverse("publishing:media_file", args=[task.content_data["media_items"][0]["path"]]))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


def test_a_text_too_long_for_x_is_a_form_error_with_the_count(signed_in, project):
    answer = signed_in.post(
        reverse("publishing:compose"),
        {"project": project.pk, "post_count": 1, "text_0": "https://example.com " + "字" * 130, "action": "save"},
    )
    assert answer.status_code == 400
    assert "284" in answer.content.decode()  # 23 + 1 + 260
    assert not PublishingTask.objects.exists()


def test_it_edits_a_queued_post_and_refuses_a_published_one(signed_in, project):
    task = post_create(project=project, posts=[PostIn(text="Old")])
    edit = reverse("publishing:post_edit", args=[task.pk])
    assert "Old" in signed_in.get(edit).content.decode()
    signed_in.post(edit, {"post_count": 1, "text_0": "New", "action": "save"})
    task.refresh_from_db()
    assert task.text == "New"
    PublishingTask.objects.filter(pk=task.pk).update(status=PublishingTask.Status.SUCCESS)
    assert signed_in.get(edit).status_code == 302
    signed_in.post(edit, {"post_count": 1, "text_0": "Changed after", "action": "save"})
    task.refresh_from_db()
    assert task.text == "New"


def test_it_deletes_a_queued_post_and_duplicates_a_published_one(signed_in, project):
    queued = post_create(project=project, posts=[PostIn(text="Queued")])
    assert signed_in.post(reverse("publishing:post_delete", args=[queued.pk])).status_code == 302
    assert not PublishingTask.objects.filter(pk=queued.pk).exists()
    done = post_create(project=project, posts=[PostIn(text="Done"), PostIn(text="Reply")])
    PublishingTask.objects.filter(pk=done.pk).update(status=PublishingTask.Status.SUCCESS)
    signed_in.post(reverse("publishing:post_duplicate", args=[done.pk]))
    copy = PublishingTask.objects.exclude(pk=done.pk).get()
    assert copy.status == PublishingTask.Status.PENDING and copy.replies.get().text == "Reply"


def test_an_outsider_cannot_preview_edit_delete_or_duplicate_anothers_post(client, other_user, project, media_root):
    task = post_create(project=project, posts=[PostIn(text="Mine")])
    (media_root / "mine.png").write_bytes(png_bytes(9))
    client.force_login(other_user)
    assert client.get(reverse("publishing:post_preview", args=[task.pk])).status_code == 404
    assert client.get(reverse("publishing:post_edit", args=[task.pk])).status_code == 404
    assert client.post(reverse("publishing:post_edit", args=[task.pk]), {"text_0": "x"}).status_code == 404
    assert client.post(reverse("publishing:post_delete", args=[task.pk])).status_code == 404
    assert client.post(reverse("publishing:post_duplicate", args=[task.pk])).status_code == 404
    assert client.get(reverse("publishing:media_file", args=[str(media_root / "mine.png")])).status_code == 404
    assert PublishingTask.objects.get().text == "Mine" and PublishingTask.objects.count() == 1


def test_the_queue_shows_a_preview_and_the_too_long_flag_of_every_item(signed_in, project):
    post_create(project=project, posts=[PostIn(text="First of two"), PostIn(text="Second of two")])
    PublishingTask.objects.create(
        project=project,
        media_path="rss:1",
        content_data={"text": "x" * 300},
        too_long=True,
        status=PublishingTask.Status.FAILED,
        scheduled_at=project.created_at,
    )
    page = signed_in.get(reverse("publishing:task_list")).content.decode()
    assert "Second of two" in page  # the thread's reply, in the row's preview
    assert "Too long for X" in page


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_queue_and_composer_pages_read_a_flat_number_of_queries(signed_in, project, django_assert_max_num_queries):
    def add(n: int) -> None:
        for i in range(n):
            post_create(project=project, posts=[PostIn(text=f"Post {n}-{i}"), PostIn(text=f"Reply {n}-{i}")])

    add(2)
    urls = [reverse("publishing:task_list"), reverse("publishing:compose")]
    small = {url: _queries(signed_in, url) for url in urls}
    add(40)
    last = PublishingTask.objects.order_by("-pk").first()
    for url in urls:
        with django_assert_max_num_queries(small[url]):
            assert signed_in.get(url).status_code == 200
    edit = reverse("publishing:post_edit", args=[last.pk])
    with django_assert_max_num_queries(_queries(signed_in, edit)):
        signed_in.get(edit)


def test_the_composer_and_its_preview_speak_chinese(signed_in, owner, project):
    owner.language = "zh-hans"
    owner.save(update_fields=["language"])
    page = signed_in.get(reverse("publishing:compose")).content.decode()
    assert "写帖子" in page and "添加回复" in page and "在 X 上的预览" in page
