"""The publishing API: projects, sources, tasks (create, status, retry, cancel) and logs.

Owner-scoped through ``owned_by``; bad input is a 400 naming the field, a wrong task state
a 400 under ``state`` (the services raise, the site's exception handler answers). Creating
a task needs only ``tasks:create`` and reading its status only ``tasks:read_status``, so a
service that queues posts holds no more rights than that. Credentials are write-only.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from cradle_site.api import IdsFirstCursorPagination
from cradle_site.querysets import MAX_ID, get_owned_or_404
from publishing import alerts, evergreen, folders, project_removal, scan_runs, services, source_edits
from publishing.models import ContentSource, Project, PublishingLog, PublishingTask


class CredentialsIn(serializers.Serializer):
    x_consumer_key = serializers.CharField()
    x_consumer_secret = serializers.CharField()
    x_access_token = serializers.CharField()
    x_access_token_secret = serializers.CharField()


class ProjectSerializer(serializers.ModelSerializer):
    slot_times = serializers.ListField(child=serializers.CharField(max_length=5), required=False)
    archived = serializers.BooleanField(required=False, help_text="Out of the list, its queue paused.")
    credentials = CredentialsIn(write_only=True, required=False)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "created_at",
            "has_credentials",
            "credentials_hint",
            "needs_credentials",
            "drive_connected",
            "x_connected",
            "x_oauth_account",
            "archived",
            "being_deleted",
            "paused",
            "slot_times",
            "slot_interval_minutes",
            "daily_cap",
            "duplicate_window_days",
            "evergreen_after_days",
            "alert_email",
            "alert_webhook_url",
            "credentials",
        ]
        read_only_fields = [
            "id",
            "created_at",
            "has_credentials",
            "credentials_hint",
            "needs_credentials",
            "drive_connected",
            "x_connected",
            "x_oauth_account",
            "being_deleted",
        ]
        # The uniqueness of the name is the service's rule (it knows the owner).
        validators = []


class ProjectList(generics.ListCreateAPIView):
    scope_area = "publishing"
    serializer_class = ProjectSerializer

    def get_queryset(self):
        return Project.objects.owned_by(self.request.user).order_by("name")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        credentials = data.pop("credentials", None)
        project = services.project_create(owner=request.user, **data)
        if credentials:
            services.project_set_credentials(project=project, **credentials)
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDelete(serializers.Serializer):
    confirm_name = serializers.CharField(help_text="The project's name, exactly: what makes a deletion deliberate.")


class ProjectDetail(generics.RetrieveUpdateDestroyAPIView):
    """PATCH changes settings (``archived`` archives it); DELETE with ``confirm_name`` deletes it
    with everything it holds: 202, done by a job (``project_removal``)."""

    scope_area = "publishing"
    serializer_class = ProjectSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_object(self):
        return get_owned_or_404(Project.objects.all(), self.request.user, pk=self.kwargs["pk"])

    def update(self, request, *args, **kwargs):
        project = self.get_object()
        serializer = self.get_serializer(project, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        credentials = data.pop("credentials", None)
        archived = data.pop("archived", None)
        services.project_update(project=project, **data)
        if archived is not None:
            project_removal.project_archive(project=project, archived=archived)
        if credentials:
            services.project_set_credentials(project=project, **credentials)
        return Response(ProjectSerializer(project).data)

    @extend_schema(request=ProjectDelete, responses={202: ProjectSerializer})
    def delete(self, request, *args, **kwargs):
        project = self.get_object()
        confirm = ProjectDelete(data=request.data)
        confirm.is_valid(raise_exception=True)
        project_removal.project_delete_request(project=project, confirm_name=confirm.validated_data["confirm_name"])
        return Response(ProjectSerializer(project).data, status=status.HTTP_202_ACCEPTED)


class SourceSerializer(serializers.ModelSerializer):
    credential = serializers.CharField(write_only=True, required=False, allow_blank=True)

    class Meta:
        model = ContentSource
        fields = [
            "id",
            "project",
            "source_type",
            "path_or_identifier",
            "credential",
            "total_items",
            "used_items",
            "last_scanned",
            "last_error",
            "is_active",
            *source_edits.TEXT_FIELDS,
        ]
        read_only_fields = [
            "id",
            "project",
            "total_items",
            "used_items",
            "last_scanned",
            "last_error",
            "is_active",
            *source_edits.TEXT_FIELDS,
        ]

    def to_representation(self, source):
        data = super().to_representation(source)
        if source.source_type == ContentSource.SourceType.LOCAL_FOLDER:
            # Relative to the owner's folder: the server's paths are not theirs to see.
            data["path_or_identifier"] = folders.relative(source.project.owner_id, source.path_or_identifier)
        return data


class SourceList(generics.ListCreateAPIView):
    scope_area = "publishing"
    serializer_class = SourceSerializer

    def project(self) -> Project:
        return get_owned_or_404(Project.objects.all(), self.request.user, pk=self.kwargs["pk"])

    def get_queryset(self):
        return ContentSource.objects.owned_by(self.request.user).filter(project=self.project())

    def create(self, request, *args, **kwargs):
        project = self.project()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source = services.source_create(project=project, **serializer.validated_data)
        return Response(SourceSerializer(source).data, status=status.HTTP_201_CREATED)


class SourceChange(serializers.Serializer):
    text_template = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    hashtags = serializers.CharField(required=False, allow_blank=True, max_length=500)
    utm_source = serializers.CharField(required=False, allow_blank=True, max_length=100)
    utm_medium = serializers.CharField(required=False, allow_blank=True, max_length=100)
    utm_campaign = serializers.CharField(required=False, allow_blank=True, max_length=100)
    is_active = serializers.BooleanField(required=False)


class SourceRemove(serializers.Serializer):
    waiting = serializers.ChoiceField(choices=source_edits.CHOICES)
    move_to = serializers.IntegerField(required=False, allow_null=True)


class SourceDetail(APIView):
    """GET a source; PATCH its post text template, hashtags, UTM parameters or ``is_active``;
    DELETE it with ``waiting`` = keep, cancel or move (``move_to``: another project of yours)."""

    scope_area = "publishing"

    def _source(self, request, pk: int) -> ContentSource:
        return get_owned_or_404(ContentSource.objects.select_related("project"), request.user, pk=pk)

    @extend_schema(responses=SourceSerializer)
    def get(self, request, pk: int):
        return Response(SourceSerializer(self._source(request, pk)).data)

    @extend_schema(request=SourceChange, responses=SourceSerializer)
    def patch(self, request, pk: int):
        source = self._source(request, pk)
        change = SourceChange(data=request.data)
        change.is_valid(raise_exception=True)
        return Response(SourceSerializer(source_edits.source_update(source=source, **change.validated_data)).data)

    @extend_schema(request=SourceRemove, responses={204: None})
    def delete(self, request, pk: int):
        source = self._source(request, pk)
        remove = SourceRemove(data=request.data)
        remove.is_valid(raise_exception=True)
        move_to = None
        if remove.validated_data.get("move_to"):
            move_to = Project.objects.owned_by(request.user).filter(pk=remove.validated_data["move_to"]).first()
            if move_to is None:
                raise DjangoValidationError({"move_to": _("Choose another project of yours.")})
        source_edits.source_delete(source=source, waiting=remove.validated_data["waiting"], move_to=move_to)
        return Response(status=status.HTTP_204_NO_CONTENT)


ScanStatusOut = inline_serializer(
    "ScanStatus",
    {
        "source": serializers.IntegerField(),
        "status": serializers.ChoiceField(choices=ContentSource.ScanStatus.choices),
        "finished": serializers.BooleanField(),
        "requested_at": serializers.DateTimeField(allow_null=True),
        "started_at": serializers.DateTimeField(allow_null=True),
        "finished_at": serializers.DateTimeField(allow_null=True),
        "items_seen": serializers.IntegerField(),
        "items_added": serializers.IntegerField(),
        "error": serializers.CharField(),
        "next_scan_at": serializers.DateTimeField(),
        "status_url": serializers.CharField(),
    },
)


class AlertWebhookSecretIn(serializers.Serializer):
    regenerate = serializers.BooleanField(
        default=False, help_text="Make a new secret first; the old one stops verifying."
    )


class AlertWebhookSecretOut(serializers.Serializer):
    alert_webhook_secret = serializers.CharField(help_text="Hand it to the receiver: it verifies each alert with it.")


class ProjectAlertWebhookSecret(APIView):
    """The alert webhook's signing secret (Standard Webhooks, ``whsec_…``): a POST, never cached, never in a GET."""

    scope_area = "publishing"

    @extend_schema(request=AlertWebhookSecretIn, responses=AlertWebhookSecretOut)
    def post(self, request, pk: int):
        project = get_owned_or_404(Project.objects.all(), request.user, pk=pk)
        body = AlertWebhookSecretIn(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["regenerate"] or not project.alert_webhook_secret:
            alerts.webhook_secret_regenerate(project=project)
        return Response({"alert_webhook_secret": project.alert_webhook_secret}, headers={"Cache-Control": "no-store"})


class SourceScan(APIView):
    """POST queues a scan and answers 202 at once (the scan is a job); GET is its progress."""

    scope_area = "publishing"

    def _answer(self, request, source: ContentSource, code: int) -> Response:
        url = request.build_absolute_uri(reverse("api:publishing_source_scan", args=[source.pk]))
        body = {**scan_runs.scan_status(source), "status_url": url}
        return Response(body, status=code, headers={"Location": url} if code == status.HTTP_202_ACCEPTED else None)

    @extend_schema(request=None, responses={202: ScanStatusOut})
    def post(self, request, pk: int):
        source = get_owned_or_404(ContentSource.objects.all(), request.user, pk=pk)
        return self._answer(request, scan_runs.source_scan_request(source=source), status.HTTP_202_ACCEPTED)

    @extend_schema(responses=ScanStatusOut)
    def get(self, request, pk: int):
        source = get_owned_or_404(ContentSource.objects.all(), request.user, pk=pk)
        return self._answer(request, source, status.HTTP_200_OK)


class TaskPagination(IdsFirstCursorPagination):
    ordering = ("-scheduled_at", "-id")


class LogPagination(IdsFirstCursorPagination):
    ordering = ("-published_at", "-id")


class TaskSerializer(serializers.ModelSerializer):
    text = serializers.CharField(read_only=True)

    class Meta:
        model = PublishingTask
        fields = [
            "id",
            "project",
            "source",
            "media_path",
            "text",
            "content_data",
            "status",
            "scheduled_at",
            "priority",
            "retry_count",
            "version",
            "maybe_posted",
            "evergreen",
            "evergreen_of",
            "last_error",
            "published_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TaskCreateIn(serializers.Serializer):
    project = serializers.IntegerField()
    text = serializers.CharField(required=False, allow_blank=True, default="")
    alt_text = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=services.ALT_TEXT_MAX_LENGTH
    )
    media_path = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=services.MEDIA_PATH_MAX_LENGTH
    )
    key = serializers.CharField(required=False, allow_blank=True, default="", max_length=services.TASK_KEY_MAX_LENGTH)
    scheduled_at = serializers.DateTimeField(required=False, default=None)
    priority = serializers.IntegerField(
        required=False, default=0, min_value=services.PRIORITY_MIN, max_value=services.PRIORITY_MAX
    )


class TaskFilterIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=PublishingTask.Status.choices, required=False)
    project = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="A project id.")


def _filters(serializer_class, request) -> dict:
    filters = serializer_class(data=request.query_params)
    filters.is_valid(raise_exception=True)
    return filters.validated_data


@extend_schema_view(get=extend_schema(parameters=[TaskFilterIn]))
class TaskList(generics.ListCreateAPIView):
    required_scopes = {"GET": {"publishing:read"}, "POST": {"tasks:create"}}
    serializer_class = TaskSerializer
    pagination_class = TaskPagination

    def get_queryset(self):
        tasks = PublishingTask.objects.owned_by(self.request.user)
        filters = _filters(TaskFilterIn, self.request)
        if "status" in filters:
            tasks = tasks.filter(status=filters["status"])
        if "project" in filters:
            tasks = tasks.filter(project_id=filters["project"])
        return tasks

    def create(self, request, *args, **kwargs):
        data = TaskCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        project = Project.objects.owned_by(request.user).filter(pk=values.pop("project")).first()
        if project is None:
            raise ValidationError({"project": ["No such project."]})
        task = services.task_create(project=project, **values)
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskStatus(APIView):
    required_scopes = {"GET": {"tasks:read_status"}}

    @extend_schema(
        responses=inline_serializer(
            "TaskStatus",
            {
                "id": serializers.IntegerField(),
                "status": serializers.CharField(),
                "scheduled_at": serializers.DateTimeField(),
                "published_at": serializers.DateTimeField(allow_null=True),
                "retry_count": serializers.IntegerField(),
                "last_error": serializers.CharField(),
                "tweet_id": serializers.CharField(),
            },
        )
    )
    def get(self, request, pk: int):
        task = get_owned_or_404(PublishingTask.objects.all(), request.user, pk=pk)
        last = task.logs.order_by("-published_at", "-id").first()
        return Response(
            {
                "id": task.pk,
                "status": task.status,
                "scheduled_at": task.scheduled_at,
                "published_at": task.published_at,
                "retry_count": task.retry_count,
                "last_error": task.last_error,
                "tweet_id": last.tweet_id if last and last.status == PublishingLog.Status.SUCCESS else "",
            }
        )


class TaskChangeIn(serializers.Serializer):
    scheduled_at = serializers.DateTimeField(required=False, default=None)
    priority = serializers.IntegerField(
        required=False, default=None, min_value=services.PRIORITY_MIN, max_value=services.PRIORITY_MAX
    )


class TaskAction(APIView):
    """Retry a failed or cancelled task, cancel a pending, failed or held one, decide on a
    held one (it may already be on X): post it anyway, or mark it as posted; or mark a
    published one evergreen (or not). No request body."""

    scope_area = "publishing"
    operation = ""

    @extend_schema(request=None, responses=TaskSerializer)
    def post(self, request, pk: int):
        task = get_owned_or_404(PublishingTask.objects.all(), request.user, pk=pk)
        if self.operation == "retry":
            services.task_retry(task=task)
        elif self.operation == "cancel":
            services.task_cancel(task=task)
        elif self.operation == "post-anyway":
            services.task_post_anyway(task=task)
        elif self.operation == "mark-posted":
            services.task_mark_posted(task=task)
        elif self.operation in ("evergreen", "not-evergreen"):
            evergreen.evergreen_mark(task=task, evergreen=self.operation == "evergreen")
        else:
            values = TaskChangeIn(data=request.data)
            values.is_valid(raise_exception=True)
            services.task_reschedule(task=task, **values.validated_data)
        return Response(TaskSerializer(task).data)


class TaskChange(TaskAction):
    """Move a pending task: a new time, a new priority, or both."""

    operation = "change"

    @extend_schema(request=TaskChangeIn, responses=TaskSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)


class LogSerializer(serializers.ModelSerializer):
    class Meta:
        model = PublishingLog
        fields = [
            "id",
            "task",
            "tweet_id",
            "tweet_content",
            "published_at",
            "status",
            "error_kind",
            "error_message",
            "duration_seconds",
            "dry_run",
        ]
        read_only_fields = fields


class LogFilterIn(serializers.Serializer):
    task = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="A task id.")


@extend_schema_view(get=extend_schema(parameters=[LogFilterIn]))
class LogList(generics.ListAPIView):
    scope_area = "publishing"
    serializer_class = LogSerializer
    pagination_class = LogPagination

    def get_queryset(self):
        logs = PublishingLog.objects.owned_by(self.request.user)
        filters = _filters(LogFilterIn, self.request)
        if "task" in filters:
            logs = logs.filter(task_id=filters["task"])
        return logs
