"""The composer's rules: write a post or a thread, edit or delete it while queued, duplicate it.

A post is ``{"text": ..., "media": [{"path": ..., "alt_text": ...}, ...]}``; a thread is a
list of them, the first being the task's own content and the rest its ``ThreadReply`` rows
(``publishing.threads``). What each post may hold is X's: text within X's weighted 280
(``publishing.x_text``), and up to four images, or one GIF, or one video, each named by its
path in the owner's folder (``publishing.uploads`` saves uploads there) and typed by its
bytes. Errors are keyed ``posts[<n>].<field>`` (the API's spelling) so the page and the API point at the post.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cradle_site.audit_vocabulary import EventType
from cradle_site.errors import StateError
from ops.audit import audit_record
from publishing import networks, queue, services, uploads, x_text
from publishing.content import ALT_TEXT_LIMIT, stream_hash, text_hash
from publishing.folders import open_file
from publishing.models import Network, NetworkAccount, Project, PublishingTask, ThreadReply
from publishing.scheduling import slots_next_free

Status = PublishingTask.Status
MAX_POSTS = 25  # X's own composer stops a thread at 25
MAX_IMAGES = 4
EDITABLE = (Status.PENDING, Status.FAILED)
DELETABLE = (Status.PENDING, Status.FAILED, Status.CANCELLED, Status.HELD)


@dataclass
class PostIn:
    text: str = ""
    media: list[dict] = field(default_factory=list)  # [{"path": ..., "alt_text": ...}]


def _post_content(owner_id: int, index: int, post: PostIn, targets: list | None = None) -> tuple[dict, str]:
    """A post's content_data and its first media file's hash; ValidationError keyed by the post.

    ``targets``: the network accounts it goes to (``None`` for the project's X); without
    them, X alone, as before issue 19. The text must fit every chosen network."""
    prefix = f"posts[{index}]."
    text = (post.text or "").strip()
    if targets is None:
        x_text.check_fits(text, field=prefix + "text")
    for account in targets or []:
        network = account.network if account is not None else Network.X
        reason = networks.too_long_reason(network, text, limits=account.limits if account is not None else None)
        if reason:
            raise ValidationError({prefix + "text": reason})
    if len(post.media) > MAX_IMAGES:
        raise ValidationError({prefix + "media": _("At most 4 images in one post.")})
    items, kinds, media_hash = [], [], ""
    for n, item in enumerate(post.media):
        where = f"{prefix}media[{n}]"
        alt_text = (item.get("alt_text") or "").strip()
        if len(alt_text) > ALT_TEXT_LIMIT:
            raise ValidationError({where + ".alt_text": _("At most %(n)s characters.") % {"n": ALT_TEXT_LIMIT}})
        real, kind = uploads.media_check(owner_id=owner_id, path=item.get("path") or "", field=where + ".path")
        kinds.append(kind.name)
        items.append({"kind": "file", "path": str(real), "alt_text": alt_text})
        if n == 0:
            with open_file(owner_id, real) as handle:
                media_hash = stream_hash(handle)
    if len(kinds) > 1 and set(kinds) != {"image"}:
        raise ValidationError({prefix + "media": _("One post holds up to 4 images, or one GIF, or one video.")})
    if "video" in kinds and any(a is not None and not networks.RULES[a.network].video for a in targets or []):
        raise ValidationError({prefix + "media": _("Bluesky takes images only: choose images, or leave Bluesky out.")})
    if not text and not items:
        raise ValidationError({prefix + "text": _("Give a text, a media file, or both.")})
    return {"text": text, "alt_text": "", "media": None, "media_items": items}, media_hash


def _thread_content(owner_id: int, posts: list[PostIn], targets: list | None = None) -> tuple[list[dict], str]:
    if not posts:
        raise ValidationError({"posts": _("Write at least one post.")})
    if len(posts) > MAX_POSTS:
        raise ValidationError({"posts": _("A thread holds at most %(n)s posts.") % {"n": MAX_POSTS}})
    contents = [_post_content(owner_id, i, post, targets) for i, post in enumerate(posts)]
    return [c for c, _ in contents], contents[0][1]


def _replies(task: PublishingTask, contents: list[dict]) -> list[ThreadReply]:
    return [ThreadReply(task=task, position=i, content_data=c) for i, c in enumerate(contents[1:], start=1)]


def _targets(project: Project, accounts: list | None, to_x: bool) -> list | None:
    """The accounts a post goes to, ``None`` standing for the project's X; ``None`` for X alone."""
    if accounts is None:
        return None
    chosen = list(dict.fromkeys(accounts))
    if any(account.project_id != project.pk for account in chosen):
        raise ValidationError({"accounts": _("Choose accounts connected to this project.")})
    targets = ([None] if to_x else []) + chosen
    if not targets:
        raise ValidationError({"accounts": _("Choose at least one network.")})
    return targets


def post_create(
    *,
    project: Project,
    posts: list[PostIn],
    scheduled_at: datetime | None = None,
    priority: int = 0,
    accounts: list[NetworkAccount] | None = None,
    to_x: bool = True,
    spoiler_text: str = "",
    visibility: str = "",
) -> PublishingTask:
    """Queue a post (or a thread) written in the composer. Without ``scheduled_at``: the next free slot.

    With ``accounts`` (and ``to_x``: the project's X too) the post becomes one task per
    network account, each with its own replies, log, retries and lease: one network failing
    never re-posts on another. The first task is returned (X's when chosen), the others in
    its ``copies``; one audit event names them all. ``spoiler_text`` and ``visibility`` are
    Mastodon's (a content warning, public/unlisted/private) and ride on its copies only.
    """
    services._check_scheduled_at(scheduled_at)
    services._check_not_past(scheduled_at)
    services._check_priority(priority)
    targets = _targets(project, accounts, to_x)
    if visibility and visibility not in NetworkAccount.Visibility.values:
        raise ValidationError({"visibility": _("Choose public, unlisted or private.")})
    if len(spoiler_text or "") > 500:
        raise ValidationError({"spoiler_text": _("At most %(n)s characters.") % {"n": 500}})
    contents, media_hash = _thread_content(project.owner_id, posts, targets)
    if scheduled_at is None:
        scheduled_at = (slots_next_free(project=project, count=1) or [timezone.now()])[0]
    tasks = []
    with transaction.atomic():
        for account in targets or [None]:
            head = dict(contents[0])
            if account is not None and account.network == Network.MASTODON:
                head.update({k: v for k, v in (("spoiler_text", spoiler_text), ("visibility", visibility)) if v})
            task = PublishingTask.objects.create(
                project=project,
                account=account,
                media_path=f"api:{uuid.uuid4().hex}",
                content_data=head,
                content_hash=text_hash(contents[0]["text"]),
                media_hash=media_hash,
                reply_count=len(contents) - 1,
                scheduled_at=scheduled_at,
                priority=priority,
            )
            ThreadReply.objects.bulk_create(_replies(task, contents))
            tasks.append(task)
        data = {"project_id": project.pk, "posts": len(contents)}
        if targets is not None:
            data["networks"] = [account.network if account is not None else Network.X for account in targets]
        audit_record(EventType.TASK_CREATED, user=project.owner_id, obj=tasks[0], data=data)
    tasks[0].copies = tasks[1:]
    return tasks[0]


def _stale() -> StateError:
    return StateError(_("The task changed meanwhile; reload and try again."))


def post_update(*, task: PublishingTask, posts: list[PostIn], scheduled_at: datetime | None = None) -> PublishingTask:
    """Replace a queued post's text, media and replies. A failed one goes back to the queue."""
    if task.status not in EDITABLE:
        raise StateError(_("Only pending or failed posts can be edited."))
    if task.posted_id:
        raise StateError(_("Part of this thread is already on X; it can no longer be edited."))
    services._check_scheduled_at(scheduled_at)
    services._check_not_past(scheduled_at)
    # A Mastodon or Bluesky copy is checked against its own network's rules, and keeps its
    # content warning and visibility (issue 19); an X task as before.
    account = task.account if task.account_id else None
    contents, media_hash = _thread_content(task.project.owner_id, posts, [account] if account else None)
    head = dict(contents[0])
    head.update({k: v for k, v in (task.content_data or {}).items() if k in ("spoiler_text", "visibility")})
    changes = {
        "content_data": head,
        "content_hash": text_hash(contents[0]["text"]),
        "media_hash": media_hash,
        "reply_count": len(contents) - 1,
        "status": Status.PENDING,
        "too_long": False,
        "retry_count": 0,
        "last_error": "",
    }
    if scheduled_at is not None:
        changes["scheduled_at"] = scheduled_at
    # The names of what changed, for the audit log (never the texts themselves).
    changed = [name for name, value in changes.items() if getattr(task, name) != value]
    old_replies = list(task.replies.order_by("position").values_list("content_data", flat=True))
    if old_replies != contents[1:]:
        changed.append("replies")
    with transaction.atomic():
        if not queue.task_transition(task, expect_status=task.status, **changes):
            raise _stale()
        ThreadReply.objects.filter(task=task).delete()
        ThreadReply.objects.bulk_create(_replies(task, contents))
        audit_record(
            EventType.TASK_CHANGED,
            user=task.project.owner_id,
            obj=task,
            changed=changed,
            data={"status": task.status, "posts": len(contents)},
        )
    return task


def post_delete(*, task: PublishingTask) -> None:
    """Delete a post that is not being published and was never published."""
    if task.status not in DELETABLE or task.posted_id:
        raise StateError(_("Only queued, failed, held or cancelled posts can be deleted."))
    owner_id = task.project.owner_id
    with transaction.atomic():
        # Version-checked: a worker that claimed it meanwhile wins, and the owner is told.
        if not PublishingTask.objects.filter(pk=task.pk, version=task.version, status=task.status).delete()[0]:
            raise _stale()
        audit_record(
            EventType.TASK_DELETED,
            user=owner_id,
            obj=(PublishingTask, task.pk),
            data={"project_id": task.project_id, "status": task.status},
        )


def post_duplicate(*, task: PublishingTask) -> PublishingTask:
    """A new pending copy of a post (and its replies) at the project's next free slot."""
    replies = list(task.replies.order_by("position").values_list("content_data", flat=True)) if task.reply_count else []
    contents = [dict(task.content_data or {})] + [dict(c) for c in replies]
    scheduled_at = (slots_next_free(project=task.project, count=1) or [timezone.now()])[0]
    with transaction.atomic():
        copy = PublishingTask.objects.create(
            project=task.project,
            account_id=task.account_id,  # a Mastodon or Bluesky copy stays on its network
            media_path=f"api:{uuid.uuid4().hex}",
            content_data=contents[0],
            content_hash=task.content_hash,
            media_hash=task.media_hash,
            reply_count=len(contents) - 1,
            scheduled_at=scheduled_at,
            priority=task.priority,
        )
        ThreadReply.objects.bulk_create(_replies(copy, contents))
        audit_record(
            EventType.TASK_CREATED,
            user=task.project.owner_id,
            obj=copy,
            data={"project_id": copy.project_id, "posts": len(contents), "copied_from": task.pk},
        )
    return copy


def posts_of(task: PublishingTask, replies: list[ThreadReply] | None = None) -> list[PostIn]:
    """The task's posts as the composer edits them (media paths as the owner sees them)."""
    from publishing import folders
    from publishing.content import media_of

    if replies is None:
        replies = list(task.replies.order_by("position")) if task.reply_count else []
    posts = []
    for data in [task.content_data] + [r.content_data for r in replies]:
        media = [
            {"path": folders.relative(task.owner_id, m.get("path", "")), "alt_text": alt}
            for m, alt in media_of(data)
            if m.get("kind") == "file"
        ]
        posts.append(PostIn(text=(data or {}).get("text", ""), media=media))
    return posts
