"""Hourly statistics, pre-aggregated so charts never scan the log tables.

``AnalyticsHourly`` is the seed's ``analytics_hourly`` (one row per project and UTC hour)
plus skipped posts and failures by kind, and since issue 19 per network too: one row per
project, hour and network a task of the project published to (X for a task without a
``NetworkAccount``, as every task before it), so a project's hour is the sum of its rows
and a network's series is a filter. ``MessageHourly`` holds the same for Cradle
messages, per owner. Both are rewritten by ``analytics.aggregate.hourly_aggregate``; a row
whose logs were all purged or re-dated keeps existing with zeros, so a chart shows "none"
rather than stale numbers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cradle_site.querysets import OwnedQuerySet
from publishing.models import Network


class PublishingCounts(models.Model):
    """The counters of one project on one network over one period: an hour (``AnalyticsHourly``) or a day."""

    # The network of the task's account (publishing.models.Network); "x" for the project's
    # own X (a task with no account). Rows aggregated before issue 19 are X rows: re-run
    # ``analytics_backfill`` over the days since the open networks went live to split them.
    network = models.CharField(_("network"), max_length=20, choices=Network.choices, default=Network.X)

    posts_success = models.PositiveIntegerField(_("published"), default=0)
    posts_failed = models.PositiveIntegerField(_("failed"), default=0)
    posts_skipped = models.PositiveIntegerField(_("skipped"), default=0)
    # Mean seconds of the successful attempts (the seed's definition); NULL when none.
    avg_duration = models.FloatField(_("average duration (s)"), null=True, blank=True)
    failures_rate_limit = models.PositiveIntegerField(_("rate limited"), default=0)
    failures_auth = models.PositiveIntegerField(_("credentials rejected"), default=0)
    failures_duplicate = models.PositiveIntegerField(_("duplicates"), default=0)
    failures_media = models.PositiveIntegerField(_("media rejected"), default=0)
    failures_server = models.PositiveIntegerField(_("X server errors"), default=0)
    failures_network = models.PositiveIntegerField(_("network errors"), default=0)
    failures_other = models.PositiveIntegerField(_("other failures"), default=0)

    class Meta:
        abstract = True


class MessageCounts(models.Model):
    """The counters of one owner's messages over one period: an hour or a day."""

    warnings_1 = models.PositiveIntegerField(_("first warnings"), default=0)
    warnings_2 = models.PositiveIntegerField(_("second warnings"), default=0)
    warnings_3 = models.PositiveIntegerField(_("third warnings"), default=0)
    warnings_4 = models.PositiveIntegerField(_("fourth warnings"), default=0)
    warnings_5 = models.PositiveIntegerField(_("final warnings"), default=0)
    resets = models.PositiveIntegerField(_("resets"), default=0)
    continues = models.PositiveIntegerField(_("continues"), default=0)
    revocations = models.PositiveIntegerField(_("revocations"), default=0)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=0)
    delivery_failures = models.PositiveIntegerField(_("failed deliveries"), default=0)

    class Meta:
        abstract = True


class AnalyticsHourlyQuerySet(OwnedQuerySet):
    owner_path = "project__owner"


class AnalyticsHourly(PublishingCounts):
    hour_timestamp = models.DateTimeField(_("hour (UTC)"))
    project = models.ForeignKey(
        "publishing.Project", on_delete=models.CASCADE, related_name="hourly_stats", verbose_name=_("project")
    )

    objects = AnalyticsHourlyQuerySet.as_manager()

    class Meta:
        db_table = "analytics_hourly"
        ordering = ["-hour_timestamp", "project_id"]
        verbose_name = _("publishing hour")
        verbose_name_plural = _("publishing hours")
        constraints = [
            models.UniqueConstraint(
                fields=["hour_timestamp", "project", "network"], name="uniq_analytics_hour_project_network"
            )
        ]
        indexes = [models.Index(fields=["project", "hour_timestamp"], name="ix_analytics_project_hour")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.network} @ {self.hour_timestamp:%Y-%m-%d %H:00}"


class MessageHourlyQuerySet(OwnedQuerySet):
    owner_path = "user"


class MessageHourly(MessageCounts):
    hour_timestamp = models.DateTimeField(_("hour (UTC)"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_hourly_stats", verbose_name=_("user")
    )

    objects = MessageHourlyQuerySet.as_manager()

    class Meta:
        db_table = "analytics_message_hourly"
        ordering = ["-hour_timestamp", "user_id"]
        verbose_name = _("message hour")
        verbose_name_plural = _("message hours")
        constraints = [models.UniqueConstraint(fields=["hour_timestamp", "user"], name="uniq_msg_hour_user")]
        indexes = [models.Index(fields=["user", "hour_timestamp"], name="ix_msg_hourly_user_hour")]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.hour_timestamp:%Y-%m-%d %H:00}"


class AnalyticsDailyQuerySet(OwnedQuerySet):
    owner_path = "project__owner"


class AnalyticsDaily(PublishingCounts):
    """``AnalyticsHourly`` summed per project and UTC day (``analytics.rollup``).

    Rewritten from the hour rows in the transaction that writes them, so it always equals
    their sum; a year's chart reads 366 rows per project instead of 8,784. ``avg_duration``
    is the day's mean over its successful attempts (the hours' means weighted by successes).
    """

    day = models.DateField(_("day (UTC)"))
    project = models.ForeignKey("publishing.Project", on_delete=models.CASCADE, related_name="daily_stats")

    objects = AnalyticsDailyQuerySet.as_manager()

    class Meta:
        db_table = "analytics_daily"
        ordering = ["-day", "project_id"]
        verbose_name = _("publishing day")
        verbose_name_plural = _("publishing days")
        # (project, day): the order every read takes (one project's days in a range); the
        # network last, so the index still serves every read by project and day.
        constraints = [
            models.UniqueConstraint(fields=["project", "day", "network"], name="uniq_analytics_day_project_network")
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.network} @ {self.day:%Y-%m-%d}"


class MessageDailyQuerySet(OwnedQuerySet):
    owner_path = "user"


class MessageDaily(MessageCounts):
    """``MessageHourly`` summed per owner and UTC day, kept like ``AnalyticsDaily``."""

    day = models.DateField(_("day (UTC)"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_daily_stats")

    objects = MessageDailyQuerySet.as_manager()

    class Meta:
        db_table = "analytics_message_daily"
        ordering = ["-day", "user_id"]
        verbose_name = _("message day")
        verbose_name_plural = _("message days")
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="uniq_msg_day_user")]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.day:%Y-%m-%d}"
