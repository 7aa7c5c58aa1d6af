from datetime import timedelta

from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from cradle_site import health
from cradle_site.models import Heartbeat
from cradle_site.schedules import PREFIX, declared_schedules
from tests.conftest import healthz_report


def test_setup_schedules_is_idempotent(db):
    specs = declared_schedules()
    assert any(spec.name == "messaging.sweep" for spec in specs)
    call_command("setup_schedules")
    first = {s.name: (s.func, s.schedule_type, s.minutes, s.cron) for s in Schedule.objects.all()}
    assert set(first) == {spec.full_name for spec in specs}
    call_command("setup_schedules")
    assert {s.name: (s.func, s.schedule_type, s.minutes, s.cron) for s in Schedule.objects.all()} == first
    assert Schedule.objects.count() == len(specs)


def test_setup_schedules_repairs_and_removes(db):
    call_command("setup_schedules")
    sweep = Schedule.objects.get(name=PREFIX + "messaging.sweep")
    sweep.func = "somewhere.else"
    sweep.save()
    Schedule.objects.create(name=PREFIX + "gone", func="x.y", schedule_type=Schedule.HOURLY)
    Schedule.objects.create(name="operator's own", func="x.y", schedule_type=Schedule.HOURLY)
    call_command("setup_schedules")
    assert Schedule.objects.get(name=PREFIX + "messaging.sweep").func != "somewhere.else"
    assert not Schedule.objects.filter(name=PREFIX + "gone").exists()
    assert Schedule.objects.filter(name="operator's own").exists()  # not ours: left alone


def test_healthz_is_503_until_the_sweep_beats(client, db):
    response = healthz_report(client)
    assert response.status_code == 503
    assert response.json()["jobs"]["messaging.sweep"]["stale"] is True
    *others, last = health.REQUIRED_BEATS
    for name in others:
        health.beat(name)
    assert client.get("/healthz").status_code == 503  # one required job has not run yet
    health.beat(last)
    response = healthz_report(client)
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_healthz_notices_a_stopped_cluster(client, db, settings):
    Heartbeat.objects.create(name="messaging.sweep", last_beat=timezone.now() - timedelta(hours=1), beats=5)
    settings.CRADLE_HEARTBEAT_STALE_SECONDS = 300
    response = healthz_report(client)
    assert response.status_code == 503
    assert response.json()["jobs"]["messaging.sweep"]["stale"] is True


def test_every_page_of_the_site_is_reachable(client, owner):
    client.force_login(owner)
    for path in ("/", "/accounts/profile/", "/accounts/keys/", "/messages/", "/publishing/", "/stats/", "/api/docs/"):
        assert client.get(path).status_code == 200, path
    assert client.get("/api/schema/").status_code == 200


def test_api_errors_name_nested_fields_like_list_items():
    from rest_framework.exceptions import ValidationError

    from cradle_site.api import _flatten

    nested = ValidationError({"recipients": [{}, {"contact": ["Enter a valid e-mail address."]}]}).detail
    assert _flatten(nested) == {"recipients[1].contact": ["Enter a valid e-mail address."]}
    by_index = ValidationError({"recipients": {0: {"name": ["This field is required."]}}}).detail
    assert _flatten(by_index) == {"recipients[0].name": ["This field is required."]}
    whole = ValidationError({"recipients": {"non_field_errors": ["This list may not be empty."]}}).detail
    assert _flatten(whole) == {"recipients": ["This list may not be empty."]}


def test_api_docs_load_no_asset_from_the_internet(client, db):
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn." not in page and "jsdelivr" not in page and "unpkg" not in page


def test_quiet_hour_jobs_first_run_at_their_hour(db, time_machine):
    from datetime import UTC, datetime

    time_machine.move_to(datetime(2026, 5, 1, 10, 30, tzinfo=UTC), tick=False)
    call_command("setup_schedules")
    backup = Schedule.objects.get(name=PREFIX + "ops.backup")
    assert backup.next_run == datetime(2026, 5, 2, 3, 0, tzinfo=UTC)
    sweep = Schedule.objects.get(name=PREFIX + "messaging.sweep")
    assert sweep.next_run == datetime(2026, 5, 1, 10, 30, tzinfo=UTC)


def test_the_schema_documents_errors_and_request_bodies_as_they_are(client, owner):
    client.force_login(owner)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    # Retry and cancel take no body; only change does (all three used to show change's body).
    assert "requestBody" not in paths["/api/v1/publishing/tasks/{id}/retry"]["post"]
    assert "requestBody" not in paths["/api/v1/publishing/tasks/{id}/cancel"]["post"]
    assert "requestBody" in paths["/api/v1/publishing/tasks/{id}/change"]["post"]
    # The error format is documented where those errors happen.
    error = {"$ref": "#/components/schemas/Error"}
    assert set(schema["components"]["schemas"]["Error"]["properties"]["error"]["properties"]) == {
        "code",
        "message",
        "fields",
    }
    detail = paths["/api/v1/messages/{id}/"]["get"]["responses"]
    assert detail["404"]["content"]["application/json"]["schema"] == error
    assert {"401", "403", "404", "429"} <= set(detail) and "400" not in detail
    assert "400" in paths["/api/v1/messages/{id}/reset/"]["post"]["responses"]
    assert "400" in paths["/api/v1/publishing/tasks"]["get"]["responses"]
    assert {p["name"] for p in paths["/api/v1/publishing/tasks"]["get"]["parameters"]} >= {"status", "project"}
    # The delay's real bounds, not PositiveSmallIntegerField's 0..32767.
    delay = schema["components"]["schemas"]["MessageRequest"]["properties"]["initial_delay_months"]
    assert (delay["minimum"], delay["maximum"]) == (1, django_settings.MESSAGING_MAX_DELAY_MONTHS)


def test_unknown_api_paths_answer_in_the_api_error_format(client, db):
    response = client.get("/api/v1/messages/0.5/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
