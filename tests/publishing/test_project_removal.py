"""Archiving a project (hidden, paused, nothing lost) and deleting one with everything it
holds: the page says what goes, the owner types the name, and a job deletes in batches
that a lost job's successor finishes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from analytics.models import AnalyticsHourly
from publishing import project_removal, task_counts
from publishing.models import ContentSource, Project, ProjectTaskCount, PublishingLog, PublishingTask
from publishing.runner import publish_due
from publishing.scan_runs import sources_scan_due
from publishing.services import project_create, source_create
from tests.clock import NOW

pytestmark = pytest.mark.django_db


def _fill(project: Project, n: int, *, source: ContentSource | None = None, prefix: str = "t") -> None:
    tasks = PublishingTask.objects.bulk_create(
        PublishingTask(
            project=project,
            source=source,
            media_path=f"{prefix}{i}",
            content_data={"text": f"{prefix} {i}"},
            scheduled_at=NOW - timedelta(minutes=1),
        )
        for i in range(n)
    )
    PublishingLog.objects.bulk_create(
        PublishingLog(task=t, project_id=project.pk, tweet_content=t.text, published_at=NOW, status="success")
        for t in tasks
    )


def test_archiving_hides_and_pauses_the_project_and_bringing_it_back_keeps_it_paused(
    client, owner, project, media_root, time_machine
):
    time_machine.move_to(NOW, tick=False)
    source_create(project=project, source_type="local_folder", path_or_identifier=".")
    _fill(project, 3)
    client.force_login(owner)
    client.post(reverse("publishing:project_archive", args=[project.pk]), {"archived": "1"})
    project.refresh_from_db()
    assert project.archived and project.paused
    assert f"<strong>{project.name}</strong>" not in client.get(reverse("publishing:project_list")).content.decode()
    assert project.name in client.get(reverse("publishing:project_list") + "?archived=1").content.decode()
    assert publish_due(max_batches=1).claimed == 0 and sources_scan_due() == 0
    assert PublishingTask.objects.filter(project=project).count() == 3  # nothing lost

    client.post(reverse("publishing:project_archive", args=[project.pk]), {"archived": "0"})
    project.refresh_from_db()
    assert not project.archived and project.paused
    assert project.name in client.get(reverse("publishing:project_list")).content.decode()


def test_the_delete_page_says_what_goes_and_needs_the_name(
    client, owner, project, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(NOW, tick=False)
    source_create(project=project, source_type="rss_feed", path_or_identifier="https://blog.example/feed.xml")
    _fill(project, 4)
    AnalyticsHourly.objects.create(project=project, hour_timestamp=NOW.replace(minute=0, second=0, microsecond=0))
    client.force_login(owner)
    url = reverse("publishing:project_delete", args=[project.pk])
    page = client.get(url).content.decode()
    for said in (
        "1 source",
        "4 posts, published or not",
        "4 still waiting",
        "4 entries in the publishing log",
        "1 hour of statistics",
    ):
        assert said in page, said

    wrong = client.post(url, {"confirm_name": "cats"})
    assert wrong.status_code == 200 and "Type the project&#x27;s name exactly" in wrong.content.decode()
    assert not Project.objects.get(pk=project.pk).being_deleted and not OrmQ.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"confirm_name": project.name})
    assert done.status_code == 302
    project.refresh_from_db()
    assert project.being_deleted and project.archived and project.paused
    assert OrmQ.objects.count() == 1  # the job that deletes it
    assert f"<strong>{project.name}</strong>" not in client.get(reverse("publishing:project_list")).content.decode()


def test_the_job_deletes_everything_in_batches_and_leaves_other_projects_alone(owner, other_user, project):
    keep = project_create(owner=other_user, name="Theirs")
    source = source_create(project=project, source_type="rss_feed", path_or_identifier="https://blog.example/feed.xml")
    _fill(project, 12, source=source)
    _fill(keep, 5)
    project_removal.project_delete_request(project=project, confirm_name=project.name)
    assert project_removal.project_delete_run(project.pk, batch=5)
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not PublishingTask.objects.filter(project_id=project.pk).exists()
    assert not PublishingLog.objects.filter(project_id=project.pk).exists()
    assert not ContentSource.objects.filter(pk=source.pk).exists()
    assert not ProjectTaskCount.objects.filter(project_id=project.pk).exists()
    assert (
        PublishingTask.objects.filter(project=keep).count() == 5
        and PublishingLog.objects.filter(project=keep).count() == 5
    )
    assert task_counts.counts_of([keep.pk])[keep.pk][PublishingTask.Status.PENDING] == 5


def test_a_job_that_died_midway_is_started_again_and_finishes(owner, project, monkeypatch):
    _fill(project, 10)
    project_removal.project_delete_request(project=project, confirm_name=project.name)
    real = project_removal._delete_batch
    calls = {"n": 0}

    def dies_after_two(queryset, batch):
        calls["n"] += 1
        if calls["n"] > 2:
            raise SystemExit("worker killed")
        return real(queryset, batch)

    monkeypatch.setattr(project_removal, "_delete_batch", dies_after_two)
    with pytest.raises(SystemExit):
        project_removal.project_delete_run(project.pk, batch=3)
    assert PublishingLog.objects.filter(project_id=project.pk).count() == 4  # two batches of 3 went
    monkeypatch.setattr(project_removal, "_delete_batch", real)

    queued = []
    monkeypatch.setattr(project_removal, "_enqueue", queued.append)
    assert project_removal.projects_delete_due() == 0  # not stale yet
    assert project_removal.projects_delete_due(now=timezone.now() + project_removal.STALE + timedelta(seconds=1)) == 1
    assert queued == [project.pk]
    assert project_removal.project_delete_run(project.pk)
    assert not Project.objects.filter(pk=project.pk).exists()


def test_the_api_archives_and_deletes_with_the_name_and_field_errors(owner, other_user, project, api_client_for):
    api = api_client_for(owner, ["publishing:read", "publishing:write"])
    url = f"/api/v1/publishing/projects/{project.pk}"
    assert api.patch(url, {"archived": True}, format="json").json()["archived"] is True
    assert Project.objects.get(pk=project.pk).paused
    refused = api.delete(url, {"confirm_name": "nope"}, format="json")
    assert refused.status_code == 400 and list(refused.json()["error"]["fields"]) == ["confirm_name"]
    missing = api.delete(url, {}, format="json")
    assert missing.status_code == 400 and list(missing.json()["error"]["fields"]) == ["confirm_name"]
    outsider = api_client_for(other_user, ["publishing:read", "publishing:write"])
    assert outsider.delete(url, {"confirm_name": project.name}, format="json").status_code == 404
    accepted = api.delete(url, {"confirm_name": project.name}, format="json")
    assert accepted.status_code == 202 and accepted.json()["being_deleted"] is True
