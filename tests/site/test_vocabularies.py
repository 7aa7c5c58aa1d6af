"""Each vocabulary (failure kinds, task and log statuses, status-log statuses, message,
delivery and staff alarm states, outbox outcomes) is spelled once, as its enum: no string literal in the
project's own Python (the apps, migrations excluded) repeats a member's value.

The scan reads every string constant with ``ast``, and every f-string whose fixed parts
could spell a member (``f"WARNING_{level}"``). Enum class bodies are the one place the
values are written. Words that are also a member's value but mean something else are in
ALLOWED, each with its reason; an entry that no longer matches anything fails too, so the
list stays as short as the code needs.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings

from messaging.channels import FailureKind
from messaging.models import Delivery, Message, StaffAlarm, StatusLog
from messaging.sending import SendOutcome
from publishing.models import ContentSource, PublishingLog, PublishingTask

VOCABULARIES = [
    PublishingTask.Status,
    PublishingLog.Status,
    PublishingLog.ErrorKind,
    ContentSource.ScanState,
    ContentSource.ScanStatus,
    StatusLog.Status,
    StatusLog.Response,
    Message.State,
    Delivery.State,
    StaffAlarm.State,
    StaffAlarm.Reason,
    SendOutcome,
    FailureKind,
]

# (file, enclosing function or class, value): why this literal is not the vocabulary.
ALLOWED = {
    ("analytics/admin.py", "AnalyticsHourlyAdmin", "network"): "the AnalyticsHourly.network field's name",
    ("analytics/aggregate.py", "<module>", "network"): "the hourly rows' network column, part of their key",
    ("analytics/api.py", "<module>", "network"): "the API's network query parameter and answer key",
    ("analytics/api.py", "RangeSerializer.get_fields", "network"): "the API's network query parameter",
    ("analytics/api.py", "_publishing_query", "network"): "the API's network query parameter",
    ("analytics/forms.py", "RangeForm.chosen_network", "network"): "the range form's network field",
    ("analytics/models.py", "AnalyticsHourly.Meta", "network"): "the AnalyticsHourly.network field's name",
    ("analytics/models.py", "AnalyticsDaily.Meta", "network"): "the AnalyticsDaily.network field's name",
    ("analytics/rollup.py", "rollups", "network"): "the day rows' network column, part of their key",
    ("analytics/selectors.py", "publishing_series", "network"): "the hourly rows' network column (grouping)",
    ("analytics/views.py", "export_csv", "network"): "the CSV's network column and its keyset",
    ("publishing/account_models.py", "NetworkAccount.Meta", "network"): "the NetworkAccount.network field's name",
    ("publishing/accounts.py", "_refusal", "network"): "the message's placeholder for the network's name",
    ("publishing/accounts.py", "_save", "network"): "the audit event's key naming the account's network",
    ("publishing/accounts.py", "account_disconnect", "network"): "the audit event's key naming the account's network",
    ("publishing/admin.py", "NetworkAccountAdmin", "network"): "the NetworkAccount.network field's name",
    (
        "publishing/admin.py",
        "NetworkAccountAdmin.get_readonly_fields",
        "network",
    ): "the NetworkAccount.network field's name",
    ("publishing/api_accounts.py", "AccountOut.Meta", "network"): "the NetworkAccount.network field's name",
    ("publishing/api_posts.py", "post_data", "network"): "the answer's key naming the post's network",
    ("publishing/api_posts.py", "<module>", "network"): "the answer's key naming the post's network",
    ("publishing/views.py", "_detail_context", "network"): "the NetworkAccount.network field's name (ordering)",
    ("publishing/views_composer.py", "_accounts_of", "network"): "the NetworkAccount.network field's name (ordering)",
    ("publishing/networks.py", "classify_mastodon", "media"): "a word looked for in Mastodon's error message",
    ("accounts/models.py", "ApiKey.state", "active"): "an API key's own state, not a message's",
    ("accounts/models.py", "ApiKey.state", "revoked"): "an API key's own state, not a message's",
    ("cradle_site/settings.py", "<module>", "media"): "the default local media folder's name",
    ("messaging/views.py", "public_revoke", "done"): "the public revoke page's own step, not a scan's status",
    ("publishing/duplicates.py", "duplicate_reasons", "media"): "which hash matched (text or media)",
    ("publishing/media.py", "open_media", "media"): "the file name used when a URL has none",
    ("publishing/services.py", "task_create", "media"): "the content_data key of the media",
    ("publishing/sources/base.py", "Item.content_data", "media"): "the content_data key of the media",
    ("publishing/factories.py", "tasks_build", "media"): "the content_data key of the media",
    ("publishing/content.py", "media_of", "media"): "the content_data key of the media",
    ("publishing/composer.py", "_post_content", "media"): "the content_data key and a post's media field",
    (
        "publishing/publishers.py",
        "TweepyPublisher._upload_v2",
        "media",
    ): "the multipart field X's v2 media upload reads",
    ("publishing/api_posts.py", "_posts", "media"): "a post's media field in the API body",
    ("publishing/api_posts.py", "post_data", "media"): "a post's media field in the API body",
    ("publishing/views_composer.py", "_forms", "media"): "a post's media field on the composer form",
    ("publishing/sources/google_drive.py", "download", "media"): "Drive's alt=media download parameter",
    ("publishing/publishers.py", "classify", "duplicate"): "the word X's 403 uses for a duplicate post",
    ("publishing/publishers.py", "TweepyPublisher._wait_for_processing", "pending"): "X's processing_info.state",
    ("publishing/publishers.py", "TweepyPublisher._wait_for_processing", "failed"): "X's processing_info.state",
}
TRANSLATION_FUNCTIONS = {"_", "gettext", "gettext_lazy", "ngettext", "pgettext", "pgettext_lazy"}


@dataclass(frozen=True)
class Found:
    path: str
    scope: str
    value: str
    line: int


def _member_values() -> set[str]:
    # The empty value (ErrorKind.NONE) is every blank default; it says nothing on its own.
    return {member.value for vocabulary in VOCABULARIES for member in vocabulary if member.value}


def _is_enum_class(node: ast.ClassDef) -> bool:
    names = {base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "") for base in node.bases}
    return any(name.endswith(("Choices", "Enum")) for name in names)


def _is_translated_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "id", "") in TRANSLATION_FUNCTIONS


def _fstring_pattern(node: ast.JoinedStr) -> tuple[re.Pattern, int]:
    """The f-string as a pattern, and how many of its characters are fixed: it counts as
    spelling a value when its fixed parts are at least half of it (``f"WARNING_{n}"``, not
    ``f"p{pk}"``)."""
    fixed = [part.value for part in node.values if isinstance(part, ast.Constant)]
    parts = [re.escape(part.value) if isinstance(part, ast.Constant) else ".+" for part in node.values]
    return re.compile("".join(parts), re.S), sum(map(len, fixed))


def _scan(tree: ast.AST, path: str, values: set[str]) -> list[Found]:
    found: list[Found] = []

    def visit(node: ast.AST, scope: list[str]) -> None:
        if isinstance(node, ast.ClassDef) and _is_enum_class(node):
            return  # the definition: the one place the values are spelled
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            scope = [*scope, node.name]
        where = ".".join(scope) or "<module>"
        if _is_translated_text(node):
            return  # words for people to read, in their language: not a value
        if isinstance(node, ast.JoinedStr):
            pattern, fixed = _fstring_pattern(node)
            found.extend(
                Found(path, where, v, node.lineno)
                for v in sorted(values)
                if 2 * fixed >= len(v) and pattern.fullmatch(v)
            )
            return  # its fixed parts were read as one pattern
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in values:
            found.append(Found(path, where, node.value, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(tree, [])
    return found


def _source_files() -> list[Path]:
    """The Python files of the project's own apps (not Django's), without migrations."""
    base = Path(settings.BASE_DIR).resolve()
    files = []
    for config in apps.get_app_configs():
        root = Path(config.path).resolve()
        if root.parent != base:  # the project's apps are its top-level folders (not .venv's)
            continue
        files.extend(path for path in root.rglob("*.py") if "migrations" not in path.relative_to(root).parts)
    return sorted(set(files))


def _findings() -> list[Found]:
    base = Path(settings.BASE_DIR).resolve()
    values = _member_values()
    found = []
    for path in _source_files():
        found.extend(_scan(ast.parse(path.read_text(), str(path)), str(path.relative_to(base)), values))
    return found


def test_it_finds_no_vocabulary_value_spelled_as_a_literal():
    repeats = [f for f in _findings() if (f.path, f.scope, f.value) not in ALLOWED]
    assert not repeats, "use the enum member instead:\n" + "\n".join(
        f"  {f.path}:{f.line} ({f.scope}) {f.value!r}" for f in repeats
    )


def test_it_keeps_no_stale_allowance():
    used = {(f.path, f.scope, f.value) for f in _findings()}
    assert set(ALLOWED) - used == set()


def test_it_scans_every_app_of_the_project():
    scanned = {path.parts[len(Path(settings.BASE_DIR).resolve().parts)] for path in _source_files()}
    assert {"accounts", "analytics", "cradle_site", "messaging", "publishing"} <= scanned


def test_it_catches_a_literal_an_fstring_and_a_comparison():
    source = (
        "def f(task, level):\n"
        "    if task.status == 'pending':\n"
        "        return f'WARNING_{level}'\n"
        "    return {'rate_limit': 1}\n"
    )
    found = {(f.value, f.line) for f in _scan(ast.parse(source), "x.py", _member_values())}
    assert found >= {("pending", 2), ("WARNING_1", 3), ("WARNING_5", 3), ("rate_limit", 4)}


def test_it_leaves_the_enum_definitions_alone():
    source = "class Status(models.TextChoices):\n    PENDING = 'pending', _('Pending')\n"
    assert _scan(ast.parse(source), "x.py", _member_values()) == []
