"""Row actions in list tables say which row they act on (a screen reader hears "Retry task 7",
not seven times "Retry"); each label starts with the button's visible text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from publishing import services
from publishing.models import ContentSource, PublishingTask

pytestmark = pytest.mark.django_db


def test_queue_buttons_name_their_task(client, owner, project):
    task = services.task_create(project=project, text="Hello", scheduled_at=timezone.now() + timedelta(hours=1))
    client.force_login(owner)
    page = client.get(reverse("publishing:task_list") + "?tab=all").content.decode()
    assert f'aria-label="Change task {task.pk}">Change</button>' in page
    assert f'aria-label="Cancel task {task.pk}">Cancel</button>' in page
    assert f'aria-label="Priority of task {task.pk}"' in page
    PublishingTask.objects.filter(pk=task.pk).update(status=PublishingTask.Status.FAILED)
    page = client.get(reverse("publishing:task_list") + "?tab=all").content.decode()
    assert f'aria-label="Retry task {task.pk}">Retry</button>' in page


def test_the_scan_button_names_its_source(client, owner, project):
    ContentSource.objects.create(
        project=project, source_type="rss_feed", path_or_identifier="https://feeds.example.org/a"
    )
    client.force_login(owner)
    page = client.get(reverse("publishing:project_detail", args=[project.pk])).content.decode()
    assert 'aria-label="Scan now: https://feeds.example.org/a">Scan now</button>' in page
