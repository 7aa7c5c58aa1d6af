"""PUBLISHING_NETWORK_DRY_RUN (staging, ``bench/publishing.py --networks 3``): the Mastodon and
Bluesky copies are claimed in big batches and finished by the dry run, each once, with no
request to any network; without it they wait for their live publisher as before."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from publishing.factories import tasks_bulk_create
from publishing.models import NetworkAccount, Project, PublishingLog, PublishingTask
from publishing.runner import publish_due


def _world(owner) -> Project:
    project = Project.objects.create(owner=owner, name="three networks")
    past = timezone.now() - timedelta(minutes=1)
    tasks_bulk_create(project=project, count=30, scheduled_at=past)
    for network, instance in (("mastodon", "https://mastodon.example"), ("bluesky", "")):
        account = NetworkAccount.objects.create(project=project, network=network, instance_url=instance, handle=network)
        tasks_bulk_create(project=project, count=30, scheduled_at=past, account=account)
    return project


def test_the_copies_take_the_dry_runs_path_once_each(owner, settings, monkeypatch):
    from publishing import network_publishers

    def no_live_publisher(account):
        raise AssertionError("a live publisher was built in a network dry run")

    monkeypatch.setattr(network_publishers, "publisher_for_account", no_live_publisher)
    settings.PUBLISHING_NETWORK_DRY_RUN = True
    project = _world(owner)
    stats = publish_due(batch_size=500, live_batch_size=2, run_seconds=30)
    assert stats.published == 90
    assert stats.batches == 1  # the copies were claimed batch-sized, not two at a time
    assert PublishingTask.objects.filter(project=project, status=PublishingTask.Status.SUCCESS).count() == 90
    logs = PublishingLog.objects.filter(project=project)
    assert logs.count() == 90 and logs.filter(dry_run=True, status="success").count() == 90
    assert sorted(logs.values_list("task_id", flat=True)) == sorted(
        PublishingTask.objects.filter(project=project).values_list("pk", flat=True)
    )


def test_without_the_setting_the_copies_wait_for_their_live_publisher(owner, settings, monkeypatch):
    from publishing import network_publishers

    built = []

    class Refusing:
        def publish(self, task, keep_alive=None):
            from publishing.publishers import PublishError

            raise PublishError(PublishingLog.ErrorKind.SERVER, "down")

    def publisher(account):
        built.append(account.network)
        return Refusing()

    monkeypatch.setattr(network_publishers, "publisher_for_account", publisher)
    settings.PUBLISHING_NETWORK_DRY_RUN = False
    project = _world(owner)
    publish_due(batch_size=500, live_batch_size=2, max_batches=1, run_seconds=30)
    assert built  # the claimed copies went to a live publisher (two of them: live-sized)
    assert PublishingLog.objects.filter(project=project, task__account__isnull=False).count() == 2
    copies = PublishingTask.objects.filter(project=project, account__isnull=False)
    assert not copies.filter(status=PublishingTask.Status.SUCCESS).exists()
    assert PublishingLog.objects.filter(project=project, dry_run=True, task__account__isnull=False).count() == 0
