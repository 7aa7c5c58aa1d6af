"""The composer pages: write a post or a thread (new, or a queued one edited), its preview,
deleting and duplicating, and the owner's media shown to the preview.

The page works without JavaScript: "Add a reply", "Remove" and "Preview" submit the form
and the page comes back with what was written (uploaded files are saved into the owner's
folder at once and kept as paths, so nothing is uploaded twice). ``composer.js`` adds the
live counters and the live preview text: one counter per chosen network (X's own
twitter-text; Mastodon's count with links as the instance's URL weight and its own limit;
Bluesky's 300 graphemes by ``Intl.Segmenter``), and a preview per network. The networks
are chosen by ``to_x`` and ``account`` checkboxes (``networks_shown`` says the chooser was
on the page: without it a form is X alone, as before issue 19). The rules are
``publishing.composer``'s; this module only reads the form and shows the answers.
"""

from __future__ import annotations

import mimetypes
from datetime import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cradle_site.errors import StateError
from cradle_site.querysets import get_owned_or_404
from cradle_site.roles import writer_required
from publishing import composer, folders, networks, uploads
from publishing.composer import PostIn
from publishing.models import Network, NetworkAccount, Project, PublishingTask
from publishing.preview import posts_shown, task_shown
from publishing.sources import SourceError

MAX_FILES_PER_POST = composer.MAX_IMAGES
# The chooser lists a user's connected accounts; a bound keeps the page small whatever they hold.
MAX_ACCOUNTS_SHOWN = 100


def _read_posts(request: HttpRequest, errors: dict[str, list[str]]) -> list[PostIn]:
    """The posts in the form; new files saved into the owner's folder (their errors in ``errors``)."""
    count = min(int(request.POST.get("post_count") or 1), composer.MAX_POSTS)
    posts = []
    for i in range(max(count, 1)):
        media = []
        for j in range(MAX_FILES_PER_POST + 1):
            path = request.POST.get(f"path_{i}_{j}")
            if path and not request.POST.get(f"drop_{i}_{j}"):
                media.append({"path": path, "alt_text": request.POST.get(f"alt_{i}_{j}", "")})
        for n, upload in enumerate(request.FILES.getlist(f"files_{i}")):
            try:
                path, _kind = uploads.media_save(owner_id=request.user.pk, upload=upload, size=upload.size)
            except ValidationError as exc:
                errors.setdefault(f"posts[{i}].media", []).extend(exc.messages)
                continue
            media.append({"path": path, "alt_text": request.POST.get(f"newalt_{i}_{n}", "")})
        posts.append(PostIn(text=request.POST.get(f"text_{i}", ""), media=media))
    return posts


def _forms(posts: list[PostIn], errors: dict[str, list[str]]) -> list[dict]:
    """One entry per post for the template, with the errors that name it."""
    forms = []
    for i, post in enumerate(posts):
        prefix = f"posts[{i}]"
        mine = [m for key, reasons in errors.items() if key.startswith(prefix) for m in reasons]
        forms.append({"index": i, "text": post.text, "media": list(enumerate(post.media)), "errors": mine})
    return forms


def _scheduled_at(request: HttpRequest, errors: dict) -> datetime | None:
    """The form's time (datetime-local, in the user's time zone), or None for the next free slot."""
    field = forms.DateTimeField(required=False)
    try:
        return field.clean(request.POST.get("scheduled_at") or None)
    except ValidationError as exc:
        errors.setdefault("scheduled_at", []).extend(exc.messages)
        return None


def _accounts_of(request: HttpRequest, projects: list[Project], task: PublishingTask | None) -> list[NetworkAccount]:
    """The accounts the chooser offers: every connected account of the owner's projects (the
    page shows those of the chosen project). Editing a copy changes its text, not its network."""
    if task is not None:
        return []
    accounts = NetworkAccount.objects.owned_by(request.user).filter(project__in=projects).order_by("network", "handle")
    accounts = list(accounts[:MAX_ACCOUNTS_SHOWN])
    for account in accounts:
        rules = networks.RULES[account.network]
        account.text_limit = rules.limit(account.limits)
        account.url_weight = int(
            (account.limits or {}).get("characters_reserved_per_url") or networks.MASTODON_URL_WEIGHT
        )
    return accounts


def _read_targets(request: HttpRequest, accounts: list[NetworkAccount]) -> tuple[bool, list[NetworkAccount] | None]:
    """``(to_x, accounts)`` as the chooser sent them. A form without the chooser (an older
    page, a script) is X alone, as before issue 19; so is X with no other account ticked."""
    if not request.POST.get("networks_shown"):
        return True, None
    to_x = request.POST.get("to_x") == "1"
    wanted = set(request.POST.getlist("account"))
    chosen = [a for a in accounts if str(a.pk) in wanted]
    if len(chosen) != len(wanted):
        chosen.append(NetworkAccount(pk=0, project_id=0))  # not the owner's: composer._targets refuses it
    if to_x and not chosen:
        return True, None
    return to_x, chosen


def _network_previews(posts: list[PostIn], accounts: list[NetworkAccount], chosen_ids: set[int]) -> list[dict]:
    return [
        {
            "account": account,
            "posts": posts_shown(posts, network=account.network, limits=account.limits),
            "chosen": account.pk in chosen_ids,
        }
        for account in accounts
    ]


def _render(
    request,
    *,
    task=None,
    projects,
    posts,
    errors,
    project_id=None,
    scheduled="",
    status=200,
    accounts=(),
    to_x=True,
    chosen_ids=frozenset(),
    spoiler_text="",
    visibility="",
):
    general = [m for key, reasons in errors.items() if not key.startswith("posts[") for m in reasons]
    account = task.account if task is not None and task.account_id else None
    network = account.network if account else Network.X
    context = {
        "task": task,
        "projects": projects,
        "project_id": project_id,
        "scheduled": scheduled,
        "forms": _forms(posts, errors),
        "post_count": len(posts),
        "max_posts": composer.MAX_POSTS,
        "general_errors": general,
        "preview": posts_shown(posts, network=network, limits=account.limits if account else None),
        "preview_name": next((p.name for p in projects if p.pk == project_id), projects[0].name if projects else ""),
        # Issue 19: the networks the post goes to, each with its counter and its preview.
        "accounts": accounts,
        "to_x": to_x,
        "chosen_ids": chosen_ids,
        "network_previews": _network_previews(posts, list(accounts), set(chosen_ids)),
        "task_account": account,
        "spoiler_text": spoiler_text,
        "visibility": visibility,
        "visibilities": NetworkAccount.Visibility.choices,
    }
    return render(request, "publishing/composer.html", context, status=status)


def _handle(request: HttpRequest, task: PublishingTask | None) -> HttpResponse:
    projects = list(Project.objects.owned_by(request.user).order_by("name"))
    accounts = _accounts_of(request, projects, task)
    if request.method != "POST":
        posts = composer.posts_of(task) if task else [PostIn()]
        project_id = task.project_id if task else (projects[0].pk if projects else None)
        return _render(
            request, task=task, projects=projects, posts=posts, errors={}, project_id=project_id, accounts=accounts
        )
    errors: dict[str, list[str]] = {}
    posts = _read_posts(request, errors)
    to_x, chosen = _read_targets(request, accounts)
    spoiler_text = request.POST.get("spoiler_text", "").strip()
    visibility = request.POST.get("visibility", "")
    scheduled_at = _scheduled_at(request, errors)
    project = task.project if task else next((p for p in projects if str(p.pk) == request.POST.get("project")), None)
    action = request.POST.get("action", "save")
    if action == "add_reply" and len(posts) < composer.MAX_POSTS:
        posts.append(PostIn())
    elif action.startswith("remove_"):
        index = action.removeprefix("remove_")
        if index.isdigit() and 0 < int(index) < len(posts):
            posts.pop(int(index))
    elif action == "save" and not errors:
        if project is None:
            errors["project"] = [_("Choose one of your projects.")]
        else:
            try:
                if task is None:
                    saved = composer.post_create(
                        project=project,
                        posts=posts,
                        scheduled_at=scheduled_at,
                        accounts=chosen,
                        to_x=to_x,
                        spoiler_text=spoiler_text,
                        visibility=visibility,
                    )
                    if getattr(saved, "copies", None):
                        messages.success(
                            request,
                            _("Queued for %(n)s networks: each is published on its own.")
                            % {"n": 1 + len(saved.copies)},
                        )
                    messages.success(request, _("Post queued."))
                else:
                    saved = composer.post_update(task=task, posts=posts, scheduled_at=scheduled_at)
                    messages.success(request, _("Post saved."))
                return redirect("publishing:post_preview", pk=saved.pk)
            except ValidationError as exc:
                for key, reasons in exc.message_dict.items():
                    errors.setdefault(key, []).extend(reasons)
            except StateError as exc:
                errors.setdefault("state", []).append(str(exc))
    return _render(
        request,
        task=task,
        projects=projects,
        posts=posts,
        errors=errors,
        project_id=project.pk if project else None,
        scheduled=request.POST.get("scheduled_at", ""),
        status=400 if errors else 200,
        accounts=accounts,
        to_x=to_x,
        chosen_ids=frozenset(a.pk for a in chosen or [] if a.pk),
        spoiler_text=spoiler_text,
        visibility=visibility,
    )


@login_required
@writer_required
def compose(request: HttpRequest) -> HttpResponse:
    return _handle(request, None)


@login_required
@writer_required
def post_edit(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_owned_or_404(PublishingTask.objects.select_related("project", "account"), request.user, pk=pk)
    if task.status not in composer.EDITABLE or task.posted_id:
        messages.error(request, _("Only pending or failed posts can be edited."))
        return redirect("publishing:post_preview", pk=task.pk)
    return _handle(request, task)


@login_required
def post_preview(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_owned_or_404(PublishingTask.objects.select_related("project", "account"), request.user, pk=pk)
    context = {
        "task": task,
        "preview": task_shown(task),
        "preview_name": task.project.name,
        "editable": task.status in composer.EDITABLE and not task.posted_id,
        "deletable": task.status in composer.DELETABLE and not task.posted_id,
    }
    return render(request, "publishing/post_preview.html", context)


@login_required
@require_POST
@writer_required
def post_delete(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_owned_or_404(PublishingTask.objects.all(), request.user, pk=pk)
    try:
        composer.post_delete(task=task)
    except StateError as exc:
        messages.error(request, str(exc))
        return redirect("publishing:post_preview", pk=pk)
    messages.success(request, _("Post deleted."))
    return redirect("publishing:task_list")


@login_required
@require_POST
@writer_required
def post_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_owned_or_404(PublishingTask.objects.select_related("project", "account"), request.user, pk=pk)
    copy = composer.post_duplicate(task=task)
    messages.success(request, _("Copy queued: edit it or leave it at its slot."))
    return redirect("publishing:post_edit", pk=copy.pk)


@login_required
def media_file(request: HttpRequest, path: str) -> FileResponse:
    """A media file of the signed-in user's own folder (the preview's images); nobody else's."""
    try:
        handle = folders.open_file(request.user.pk, path)
    except SourceError:
        raise Http404 from None
    kind = uploads.sniff(handle.read(16))
    handle.seek(0)
    if kind is None:
        handle.close()
        raise Http404
    mime = mimetypes.guess_type(f"x{kind.suffix}")[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=mime)
    response["Cache-Control"] = "private, max-age=3600"
    return response
