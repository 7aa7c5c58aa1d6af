"""The back office in Chinese names every app, model and field in Chinese (it showed
"Analytics", "Heartbeats", "Owner" and "API 密钥s")."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import translation

CJK = re.compile(r"[\u4e00-\u9fff]")
OURS = {"accounts", "messaging", "publishing", "analytics", "cradle_site"}
# Third-party apps: their app name is ours to give (cradle_site.apps, settings.Q_CLUSTER);
# django-q2's model names are translatable, django-otp's are plain English strings.
THEIRS = {"django_q": "models", "otp_totp": "app"}
# Names that are Chinese as they are: the id column and a technical abbreviation.
# Names kept as written: ids, and the UTM parameters (their names are what a link carries).
AS_THEY_ARE = {"ID", "id", "utm_source", "utm_medium", "utm_campaign"}


def _names() -> list[tuple[str, str]]:
    found = []
    seen_apps = set()
    for model in admin.site._registry:
        meta = model._meta
        if meta.app_label not in OURS | set(THEIRS):
            continue
        if meta.app_label not in seen_apps:
            seen_apps.add(meta.app_label)
            found.append((f"app {meta.app_label}", str(meta.app_config.verbose_name)))
        if THEIRS.get(meta.app_label) == "app":
            continue
        found += [
            (f"model {meta.label}", str(meta.verbose_name)),
            (f"models {meta.label}", str(meta.verbose_name_plural)),
        ]
        if meta.app_label in OURS:
            found += [
                (f"field {meta.label}.{field.name}", str(field.verbose_name))
                for field in meta.get_fields()
                if hasattr(field, "verbose_name")
            ]
    return found


def test_every_name_in_the_chinese_back_office_is_chinese():
    with translation.override("zh-hans"):
        names = _names()
    english = [(what, name) for what, name in names if not CJK.search(name) and name not in AS_THEY_ARE]
    assert english == []
    # Django's default plural is the singular + "s": "API 密钥s".
    assert [(what, name) for what, name in names if re.search(r"[\u4e00-\u9fff]s$", name)] == []


@pytest.mark.django_db
def test_the_index_page_shows_no_english_app_or_model_name(client, staff):
    client.force_login(staff)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("admin:index")).content.decode()
    for word in ("Analytics", "Heartbeats", "Publishing tasks", "API 密钥s", "Otp_Totp", "Cradle_Site"):
        assert word not in page
    assert "统计" in page and "心跳" in page and "API 密钥" in page
