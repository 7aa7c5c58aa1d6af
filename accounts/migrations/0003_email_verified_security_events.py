"""The account e-mail's verification, the security events, the per-user session list.

Every account that exists when this runs is marked verified (at the time of the migration):
a running system has been warning these addresses all along, and holding every owner's
warnings until they click a link they never asked for would stop warnings to people who
rely on them (and then their ladders would wait for ever). New sign-ups start unverified.
The backfill walks the users by primary key, 1,000 per short transaction.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models, transaction
from django.utils import timezone

import accounts.models

BATCH = 1000


def mark_existing_verified(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    now = timezone.now()
    last = 0
    while True:
        ids = list(User.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not ids:
            return
        last = ids[-1]
        with transaction.atomic():
            User.objects.filter(pk__in=ids, email_verified_at__isnull=True).update(email_verified_at=now)



class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0002_username_key"),
    ]

    operations = [
        migrations.AlterModelManagers(
            name="user",
            managers=[
                ("objects", accounts.models.CradleUserManager()),
            ],
        ),
        migrations.AddField(
            model_name="user",
            name="email_verified_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="e-mail verified"),
        ),
        migrations.CreateModel(
            name="SecurityEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("auth.login", "Signed in"),
                            ("auth.login_locked", "Sign-ins paused after repeated wrong passwords"),
                            ("auth.password_changed", "Password changed"),
                            ("auth.sessions_ended", "Other sessions signed out"),
                            ("account.created", "Account created"),
                            ("email.verified", "E-mail address verified"),
                            ("email.change_requested", "E-mail change requested"),
                            ("email.changed", "E-mail address changed"),
                            ("mfa.enabled", "Two-factor authentication turned on"),
                            ("mfa.disabled", "Two-factor authentication turned off"),
                            ("mfa.device_added", "Second factor added"),
                            ("mfa.device_removed", "Second factor removed"),
                            ("mfa.recovery_codes_generated", "New recovery codes made"),
                            ("mfa.recovery_code_used", "Recovery code used"),
                            ("api_key.created", "API key created"),
                            ("api_key.revoked", "API key revoked"),
                            ("staff.user_email_changed", "Staff changed your e-mail address"),
                            ("staff.user_password_changed", "Staff changed your password"),
                            ("staff.user_data_changed", "Staff changed your data"),
                        ],
                        max_length=40,
                        verbose_name="event",
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="time")),
                (
                    "actor_kind",
                    models.CharField(
                        choices=[
                            ("user", "you"),
                            ("staff", "staff"),
                            ("api_key", "API key"),
                            ("anonymous", "someone not signed in"),
                            ("system", "Cradle"),
                        ],
                        default="user",
                        max_length=10,
                        verbose_name="by",
                    ),
                ),
                ("actor_label", models.CharField(blank=True, default="", max_length=150)),
                ("object_type", models.CharField(blank=True, default="", max_length=100)),
                ("object_id", models.CharField(blank=True, default="", max_length=64)),
                ("ip", models.GenericIPAddressField(blank=True, null=True, verbose_name="address")),
                ("user_agent", models.CharField(blank=True, default="", max_length=300, verbose_name="browser")),
                ("data", models.JSONField(blank=True, default=dict)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="security_events",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "security event",
                "verbose_name_plural": "security events",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["user", "-created_at", "-id"], name="secevent_user_created_idx"),
                    models.Index(fields=["kind", "-created_at"], name="secevent_kind_created_idx"),
                ],
            },
        ),
        migrations.CreateModel(
            name="UserSession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("session_key", models.CharField(max_length=40, unique=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["user", "created_at"], name="usersession_user_idx")],
            },
        ),
        migrations.RunPython(mark_existing_verified, migrations.RunPython.noop, elidable=True),
    ]
