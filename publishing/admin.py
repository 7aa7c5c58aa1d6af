"""The back office: every publishing model, with actions that call the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Prefetch, Q
from django.utils.translation import gettext_lazy as _

from cradle_site.admin_confirm import confirm_first
from cradle_site.errors import StateError
from cradle_site.paginators import CappedCountPaginator
from cradle_site.replica import ReplicaListMixin
from publishing import folders, scan_runs, services
from publishing.models import (
    ContentSource,
    MastodonApp,
    NetworkAccount,
    Project,
    PublishingAlert,
    PublishingLog,
    PublishingTask,
)

# What a changelist shows of each row's project: its name (no credentials decrypted).
_PROJECT_NAMES = Prefetch("project", queryset=Project.objects.only("id", "name"))


def _exact_search(queryset, term: str):
    """A task number or the owner's exact e-mail, each an index lookup (never LIKE '%…%')."""
    term = term.strip()
    if not term:
        return queryset
    if term.isdigit() and len(term) <= 18:
        return queryset.filter(pk=int(term))
    return queryset.filter(owner__email__iexact=term)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "live", "needs_credentials", "paused", "daily_cap", "created_at"]
    list_filter = ["paused", "needs_credentials", "uses_operator_drive", "created_at"]
    search_fields = ["name", "description", "owner__username", "owner__email"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    # Credentials are never shown, not even to staff; owners set them on their page.
    # uses_operator_drive is edited here only: owners never see or set it.
    exclude = [
        "x_consumer_key",
        "x_consumer_secret",
        "x_access_token",
        "x_access_token_secret",
        "gdrive_refresh_token",
        "gdrive_access_token",
        "gdrive_token_expires_at",
        "x_oauth_refresh_token",
        "x_oauth_access_token",
        "x_oauth_expires_at",
        "alert_webhook_secret",
    ]
    # The alert webhook is the owner's to set (validated by the services); staff only see it.
    readonly_fields = [
        "credentials_hint",
        "x_oauth_account",
        "gdrive_account",
        "owner_folders",
        "alert_webhook_url",
        "created_at",
    ]

    @admin.display(description=_("owner's local folders"))
    def owner_folders(self, project: Project) -> str:
        if project.pk is None:
            return "—"
        return ", ".join(str(folder) for folder in folders.folders_of(project.owner_id)) or "—"

    def get_readonly_fields(self, request, obj=None):
        # A project keeps its owner: its tasks and logs carry a copy of it (models.fill_owners).
        return [*self.readonly_fields, "owner"] if obj is not None else self.readonly_fields

    @admin.display(boolean=True, description=_("live (has credentials)"))
    def live(self, project: Project) -> bool:
        return project.has_credentials


@admin.register(ContentSource)
class ContentSourceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "source_type", "total_items", "used_items", "last_scanned", "is_active"]
    list_filter = ["source_type", "is_active"]
    search_fields = ["path_or_identifier", "project__name", "project__owner__username"]
    list_select_related = ["project"]
    raw_id_fields = ["project"]
    exclude = ["credential"]
    readonly_fields = [
        "owner_folders",
        "total_items",
        "used_items",
        "last_scanned",
        "last_error",
        "scan_progress",
    ]
    actions = ["rescan"]

    @admin.display(description=_("owner's local folders"))
    def owner_folders(self, source: ContentSource) -> str:
        # Staff see the server paths; the owner sees only the folder's name (publishing.folders).
        if source.pk is None:
            return "—"
        return ", ".join(str(folder) for folder in folders.folders_of(source.project.owner_id)) or "—"

    @admin.display(description=_("scan"))
    def scan_progress(self, source: ContentSource) -> str:
        return source.scan_label if source.pk else "—"

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # The column is a text field: the length limit is the service's, as on the page and the API.
        if db_field.name == "path_or_identifier":
            kwargs["max_length"] = services.SOURCE_PATH_MAX_LENGTH
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.action(description=_("Scan the selected sources now"))
    def rescan(self, request, queryset):
        # Queued as jobs, like the owner's "Scan now": one slow feed must not hold the request.
        sources = list(queryset)
        for source in sources:
            scan_runs.source_scan_request(source=source)
        self.message_user(request, _("%(n)s scans queued.") % {"n": len(sources)}, messages.SUCCESS)


@admin.register(MastodonApp)
class MastodonAppAdmin(admin.ModelAdmin):
    """This site's registrations on Mastodon instances (publishing.mastodon_oauth): read only.
    The client secret is never shown; the connect flow registers, and a registration stays
    (the accounts connected through it were given tokens for it)."""

    list_display = ["instance_url", "client_id", "scopes", "created_at"]
    search_fields = ["instance_url"]
    exclude = ["client_secret"]
    readonly_fields = ["instance_url", "redirect_uri", "scopes", "client_id", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(NetworkAccount)
class NetworkAccountAdmin(admin.ModelAdmin):
    """Connected Mastodon and Bluesky accounts. Their secrets are never shown, not even to
    staff; owners connect and reconnect on their page."""

    list_display = ["handle", "network", "instance_url", "project", "needs_reconnect", "created_at"]
    list_filter = ["network", "needs_reconnect"]
    search_fields = ["handle", "instance_url", "=project__owner__email"]
    list_select_related = ["project"]
    raw_id_fields = ["project"]
    exclude = ["access_token", "app_password", "session"]
    readonly_fields = ["credentials_hint", "remote_id", "limits", "created_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # The owner disconnects (accounts.account_disconnect keeps the task counts); a plain
        # cascade from here would not.
        return False

    def get_readonly_fields(self, request, obj=None):
        # An account stays with its project and network: its copies and their logs point at it.
        fixed = ["project", "network", "instance_url", "handle"] if obj is not None else []
        return [*self.readonly_fields, *fixed]


@admin.register(PublishingTask)
class PublishingTaskAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "media_path",
        "status",
        "maybe_posted",
        "scheduled_at",
        "priority",
        "retry_count",
        "locked_by",
    ]
    list_filter = ["status", "scheduled_at", "maybe_posted"]
    # Exact keys only (get_search_results): LIKE '%…%' over media paths read every task.
    search_fields = ["=id", "=owner__email"]
    search_help_text = _("A task number or the owner's e-mail address.")
    raw_id_fields = ["project", "source", "account"]
    # 100,000s of rows: no date_hierarchy (a DISTINCT over every row's date), no full count,
    # and newest first by the primary key rather than the model's priority order, which
    # sorted every row, JSON included, with the project joined in. The shown rows' projects
    # come from one IN query (an empty tuple: no select_related of list_display's FK).
    ordering = ["-id"]
    list_select_related = ()
    show_full_result_count = False
    paginator = CappedCountPaginator
    readonly_fields = [
        "status",
        "version",
        "retry_count",
        "locked_at",
        "locked_by",
        "lease_expires_at",
        "maybe_posted",
        "content_hash",
        "media_hash",
        "published_at",
        "created_at",
        "updated_at",
        "last_error",
    ]
    actions = ["retry", "cancel", "post_anyway", "mark_posted"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(_PROJECT_NAMES)

    def get_search_results(self, request, queryset, search_term):
        return _exact_search(queryset, search_term), False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # The bounds are the service's, as on the page and the API.
        if db_field.name == "priority":
            kwargs.update(min_value=services.PRIORITY_MIN, max_value=services.PRIORITY_MAX)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def _apply(self, request, queryset, service, label):
        done = 0
        for task in queryset:
            try:
                service(task=task)
                done += 1
            except StateError as exc:
                self.message_user(request, f"#{task.pk}: {exc}", messages.WARNING)
        self.message_user(request, _("%(label)s: %(n)s tasks.") % {"label": label, "n": done}, messages.SUCCESS)

    @admin.action(description=_("Retry the selected tasks"))
    def retry(self, request, queryset):
        self._apply(request, queryset, services.task_retry, _("Retried"))

    @admin.action(description=_("Cancel the selected tasks"))
    @confirm_first(consequence=_("Cancelled tasks are never published; a new task is needed to post them."))
    def cancel(self, request, queryset):
        self._apply(request, queryset, services.task_cancel, _("Cancelled"))

    @admin.action(description=_("Held tasks: not on X, post them anyway"))
    def post_anyway(self, request, queryset):
        self._apply(request, queryset, services.task_post_anyway, _("Back in the queue"))

    @admin.action(description=_("Held tasks: already on X, mark them as posted"))
    @confirm_first(consequence=_("Tasks marked as posted are never published again, even if they are not on X."))
    def mark_posted(self, request, queryset):
        self._apply(request, queryset, services.task_mark_posted, _("Marked as posted"))


@admin.register(PublishingLog)
class PublishingLogAdmin(ReplicaListMixin, admin.ModelAdmin):
    list_display = [
        "published_at",
        "project",
        "task_id",
        "status",
        "error_kind",
        "tweet_id",
        "duration_seconds",
        "dry_run",
    ]
    # Fixed choices only; no date_hierarchy (a DISTINCT over every row's date).
    list_filter = ["status", "error_kind", "dry_run"]
    # Exact keys, each served by an index: a tweet id (ix_logs_tweet) or a task id.
    search_fields = ["=tweet_id"]
    search_help_text = _("An exact tweet id or task id.")
    raw_id_fields = ["task", "project"]
    # As for tasks: newest first by the primary key (logs are appended in time order), the
    # projects of the shown rows by one IN query. With the project joined in and
    # -published_at, MariaDB sorted a million rows in a temporary table (seconds).
    ordering = ["-id"]
    list_select_related = ()
    show_full_result_count = False
    paginator = CappedCountPaginator

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(_PROJECT_NAMES)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(tweet_id=term)
        if term.isdigit() and len(term) <= 18:
            match |= Q(task_id=int(term))
        return queryset.filter(match), False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PublishingAlert)
class PublishingAlertAdmin(admin.ModelAdmin):
    """Read-only: an incident is opened and ended by publishing.alerts, never by hand."""

    list_display = ["opened_at", "project", "kind", "key", "resolved_at", "state", "notified_at", "attempts"]
    list_filter = ["kind", "state"]
    search_fields = ["=project__id", "project__name"]
    raw_id_fields = ["project"]
    list_select_related = ["project"]
    ordering = ["-id"]
    show_full_result_count = False
    exclude = ["open_marker", "lease_until"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
