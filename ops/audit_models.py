"""``AuditEvent``: one row per operation that changed data, append-only (issue 17).

- **whose**: ``user``, the account the event is about (the owner of the object; empty for
  an operation on the site, e.g. a backup) — the Activity page, the CSV and the API list the
  caller's rows by it;
- **who**: ``actor_kind`` (``cradle_site.audit_vocabulary.ActorKind``), ``actor_id`` (the
  acting person, when one is known) and ``actor_label`` (a staff member's username, an API
  key's ``crd_<prefix>``, a job's name), kept as text so a row still reads after they are gone;
- **what**: ``event_type`` from the fixed vocabulary (``EventType``) and ``extra_data``: the
  facts as JSON (changed field NAMES, counts, states) — never a secret, a message's text or a
  recipient's contact;
- **which object**: ``object_type`` (``app_label.model``), ``object_id`` and ``object_label``
  (a short, non-secret name: a project's name, an API key's prefix; never a message title,
  which is encrypted at rest);
- **when**: ``created_at``; **from where**: ``ip`` and ``user_agent``.

The user columns hold plain ids, without a foreign-key constraint (``db_constraint=False``,
``DO_NOTHING``): deleting an account must neither delete its history nor rewrite it.

Why a check in the tests and not a database trigger: a trigger that refuses UPDATE and
DELETE must still let ``purge_logs --table=audit`` delete old rows, and SQLite's triggers
cannot see a per-connection "purging now" flag; and Django's test flush deletes every
row. So the proof is ``tests/conftest.py``'s autouse ``_audit_append_only``: it watches
every SQL statement of every test, on SQLite and MariaDB, and fails the test that updates
or deletes a row of this table other than through ``ops.audit.audit_purge``. The model
refuses a second ``save()`` and its queryset refuses ``update()``/``delete()`` as well.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cradle_site.audit_vocabulary import LABEL_MAX, USER_AGENT_MAX, ActorKind, EventType


class AppendOnlyError(RuntimeError):
    pass


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def delete(self):
        raise AppendOnlyError("audit events are append-only; old ones go by purge_logs --table=audit")

    def owned_by(self, user):
        """The events about ``user`` (their subject), the one scope every list uses."""
        return self.filter(user=user)


class AuditEvent(models.Model):
    EventType = EventType
    ActorKind = ActorKind

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    event_type = models.CharField(_("event"), max_length=40, choices=EventType.choices)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    actor_kind = models.CharField(_("by"), max_length=20, choices=ActorKind.choices, default=ActorKind.SYSTEM)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(_("actor label"), max_length=LABEL_MAX, blank=True, default="")
    object_type = models.CharField(_("object type"), max_length=100, blank=True, default="")
    object_id = models.CharField(_("object id"), max_length=64, blank=True, default="")
    object_label = models.CharField(_("object"), max_length=LABEL_MAX, blank=True, default="")
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=USER_AGENT_MAX, blank=True, default="")
    extra_data = models.JSONField(_("details"), blank=True, default=dict)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        indexes = [
            # The user's Activity page, CSV and API walk this newest first (keyset on created_at, id).
            models.Index(fields=["user", "-created_at", "-id"], name="audit_user_created_idx"),
            # The admin's event filter, newest first.
            models.Index(fields=["event_type", "-created_at"], name="audit_type_created_idx"),
            # The admin's search by object, and the purge's range by age.
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["created_at"], name="audit_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.pk}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")
