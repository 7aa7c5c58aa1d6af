"""What operations record: the restore drills (``backup_verify``); the audit log lives in
``ops.audit_models`` (imported here so Django finds it)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ops.audit_models import AuditEvent  # noqa: F401


class RestoreDrill(models.Model):
    """One restore of the newest backup into a scratch database, and what it found."""

    started_at = models.DateTimeField(_("started at"), db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    ok = models.BooleanField(_("passed"), default=False)
    backup_name = models.CharField(_("backup"), max_length=255, blank=True)
    binlogs = models.PositiveIntegerField(_("binlog files replayed"), default=0)
    tables = models.PositiveIntegerField(_("tables"), default=0)
    rows = models.PositiveBigIntegerField(_("rows"), default=0)
    sampled = models.PositiveIntegerField(_("encrypted values decrypted"), default=0)
    seconds = models.FloatField(_("seconds"), default=0)
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("restore drill")
        verbose_name_plural = _("restore drills")
        ordering = ("-started_at",)

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'failed'}"
