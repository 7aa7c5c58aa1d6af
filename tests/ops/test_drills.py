"""Restore drills: backup_verify restores the newest backup into a scratch database and checks
it; a failed, missing or old drill (or backup) turns /healthz?strict=1 to 503 and shows in the admin."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from cradle_site import health
from messaging.models import Message, MessageBody
from ops import binlog
from ops.backup import backup_create
from ops.models import RestoreDrill
from tests.conftest import healthz_report
from tests.ops.test_backup import _quiet, filled  # noqa: F401 - a fixture, shared

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def checked(filled, settings, tmp_path):  # noqa: F811
    settings.BACKUP_HEALTH_CHECKS = True
    settings.BINLOG_DIR = tmp_path / "binlogs"
    for index, message in enumerate(Message.objects.order_by("pk")):
        message.title = f"title {index}"
        message.save()
        MessageBody.objects.update_or_create(message=message, defaults={"content": f"secret {index}"})
    for name in health.REQUIRED_BEATS:
        health.beat(name)
    return settings


def _archive_if_binlog() -> None:
    if connection.vendor == "mysql" and binlog.log_bin_enabled():
        binlog.binlog_archive(progress=_quiet)


def test_a_drill_restores_the_newest_backup_and_passes(checked, client):
    backup_create(progress=_quiet)
    _archive_if_binlog()
    out = io.StringIO()
    call_command("backup_verify", stdout=out)
    assert "Restore drill passed" in out.getvalue()
    drill = RestoreDrill.objects.get()
    assert drill.ok and drill.rows > 400 and drill.tables > 10
    assert drill.sampled >= 4  # two titles and two message texts at least, decrypted
    response = healthz_report(client, {"strict": "1"})
    assert response.status_code == 200, response.json()["backups"]
    assert response.json()["backups"]["last_drill"]["ok"] is True
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:  # the scratch database is gone again
            cursor.execute("SHOW DATABASES LIKE %s", [connection.settings_dict["NAME"] + "_drill"])
            assert cursor.fetchall() == ()


def test_a_failed_drill_turns_strict_healthz_to_503_and_shows_in_the_admin(checked, client, staff):
    path = backup_create(progress=_quiet)
    _archive_if_binlog()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="^restore drill failed: backup file is damaged or was tampered with"):
        call_command("backup_verify", stdout=io.StringIO())
    assert RestoreDrill.objects.get().ok is False

    response = healthz_report(client, {"strict": "1"})
    assert response.status_code == 503
    assert any("last restore drill failed" in line for line in response.json()["backups"]["problems"])
    assert healthz_report(client).status_code == 200  # a load balancer keeps the site in

    client.force_login(staff)
    page = client.get("/admin/ops/restoredrill/")
    assert page.status_code == 200
    assert "tampered with" in page.content.decode()
    assert client.get("/admin/ops/restoredrill/add/").status_code == 403


def test_no_drill_and_an_old_backup_are_problems(checked, client, time_machine):
    backup_create(progress=_quiet)
    _archive_if_binlog()
    problems = healthz_report(client, {"strict": "1"}).json()["backups"]["problems"]
    assert problems == ["no restore drill yet (manage.py backup_verify)"]
    call_command("backup_verify", stdout=io.StringIO())
    assert healthz_report(client, {"strict": "1"}).status_code == 200

    time_machine.move_to(RestoreDrill.objects.get().started_at + timedelta(days=9))
    for name in health.REQUIRED_BEATS:
        health.beat(name)
    response = healthz_report(client, {"strict": "1"})
    assert response.status_code == 503
    problems = response.json()["backups"]["problems"]
    assert "the newest backup is older than 26 hours" in problems
    assert "the last restore drill is older than 8 days" in problems


def test_a_drill_with_no_backup_fails_and_is_recorded(checked):
    with pytest.raises(CommandError, match="there is no backup to restore"):
        call_command("backup_verify", stdout=io.StringIO())
    assert RestoreDrill.objects.get().ok is False


@pytest.mark.sqlite_only
def test_a_drill_finds_counts_that_differ_from_the_backups(checked, monkeypatch):
    from ops import drill as drill_module

    path = backup_create(progress=_quiet)
    real = drill_module.sqlite_counts
    monkeypatch.setattr(drill_module, "sqlite_counts", lambda file: {**real(file), "publishing_publishinglog": 1})
    with pytest.raises(CommandError, match="row counts differ from the backup's in publishing_publishinglog"):
        call_command("backup_verify", stdout=io.StringIO())
    assert RestoreDrill.objects.get().backup_name == path.name
