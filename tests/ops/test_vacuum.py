from django.core.management import call_command
from django.db import connection

from ops.vacuum import vacuum_statements


def test_dry_run_lists_the_statements(db, capsys):
    call_command("db_vacuum", "--dry-run")
    out = capsys.readouterr().out
    if connection.vendor == "sqlite":
        assert out.split("\n")[:3] == ["VACUUM", "ANALYZE", "PRAGMA optimize"]
    else:
        assert "OPTIMIZE TABLE `publishing_publishinglog`" in out
        assert "ANALYZE TABLE `analytics_hourly`" in out


def test_it_runs(transactional_db, capsys):
    call_command("db_vacuum")
    out, err = capsys.readouterr()
    assert f"Ran {len(vacuum_statements())} maintenance statements." in out
    assert err.strip()  # each statement is reported as it runs
