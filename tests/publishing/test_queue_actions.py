"""The queue page offers an action on a task exactly in the states its service accepts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from publishing import services
from publishing.models import PublishingTask

SERVICES = {"retry": services.task_retry, "cancel": services.task_cancel, "change": services.task_reschedule}


def _accepted(action: str, pk: int, status: PublishingTask.Status) -> bool:
    PublishingTask.objects.filter(pk=pk).update(status=status)  # as it was before the previous action
    try:
        SERVICES[action](task=PublishingTask.objects.get(pk=pk))
    except Exception:  # noqa: BLE001 - refused, however the service says so
        return False
    return True


@pytest.mark.parametrize("status", list(PublishingTask.Status))
def test_the_page_offers_the_actions_the_services_accept(client, owner, project, status):
    task = services.task_create(project=project, text="Hello", scheduled_at=timezone.now() + timedelta(hours=1))
    PublishingTask.objects.filter(pk=task.pk).update(status=status)
    client.force_login(owner)
    page = client.get(reverse("publishing:task_list") + "?tab=all").content.decode()
    offered = {action for action in SERVICES if reverse("publishing:task_action", args=[task.pk, action]) in page}
    accepted = {action for action in SERVICES if _accepted(action, task.pk, status)}
    assert offered == accepted
