"""The composer's API: posts and threads (create, read, edit, delete, duplicate), media
uploads into the owner's folder, and X's weighted length of a text.

Writing posts needs ``tasks:create`` for a new one and ``publishing:write`` to change or
delete one; everything is owner-scoped through ``owned_by`` / ``get_owned_or_404``. A text
X would refuse is a 400 naming the post and the reason (``posts[1].text``: "Too long for X:
it counts 291 of 280 characters ...").

A new post may go to several networks (issue 19): ``accounts`` (the project's connected
Mastodon and Bluesky accounts) and ``to_x``; it becomes one post per network (the first
answered, the others under ``copies``), and its text must fit every chosen network
(``publishing.networks``: a 400 on ``posts[n].text`` names the network that refuses it).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cradle_site.querysets import MAX_ID, get_owned_or_404
from publishing import composer, networks, services, uploads, x_text
from publishing.content import ALT_TEXT_LIMIT
from publishing.models import Network, NetworkAccount, Project, PublishingTask


class MediaIn(serializers.Serializer):
    path = serializers.CharField(max_length=services.MEDIA_PATH_MAX_LENGTH, help_text="In your folder.")
    alt_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=ALT_TEXT_LIMIT)


class PostIn(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=25_000)
    media = MediaIn(many=True, required=False, default=list)


class ThreadIn(serializers.Serializer):
    posts = PostIn(many=True, help_text="The post, then its replies in order.")
    scheduled_at = serializers.DateTimeField(required=False, default=None)


class ThreadCreateIn(ThreadIn):
    project = serializers.IntegerField()
    priority = serializers.IntegerField(
        required=False, default=0, min_value=services.PRIORITY_MIN, max_value=services.PRIORITY_MAX
    )
    accounts = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        default=None,
        max_length=50,
        help_text="Connected Mastodon / Bluesky accounts of the project (ids) the post also goes to; "
        "leave out for X alone. Each becomes its own post, answered under copies.",
    )
    to_x = serializers.BooleanField(required=False, default=True, help_text="With accounts: the project's X too.")
    spoiler_text = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500, help_text="Mastodon's content warning."
    )
    visibility = serializers.ChoiceField(
        choices=NetworkAccount.Visibility.choices, required=False, default="", help_text="Mastodon's."
    )


def _accounts(request, project: Project, ids: list[int] | None) -> list[NetworkAccount] | None:
    """The chosen accounts, the caller's and the project's only; a 400 naming ``accounts`` otherwise."""
    if ids is None:
        return None
    ids = list(dict.fromkeys(ids))
    found = NetworkAccount.objects.owned_by(request.user).filter(project=project).in_bulk(ids)
    if len(found) != len(ids):
        raise ValidationError({"accounts": ["Choose accounts connected to this project."]})
    return [found[pk] for pk in ids]


def _posts(data: dict) -> list[composer.PostIn]:
    return [composer.PostIn(text=p["text"], media=[dict(m) for m in p["media"]]) for p in data["posts"]]


def post_data(task: PublishingTask, replies=None) -> dict:
    posts = composer.posts_of(task, replies)
    account = task.account if task.account_id else None
    network = account.network if account is not None else Network.X
    limits = account.limits if account is not None else None
    return {
        "id": task.pk,
        "project": task.project_id,
        "account": task.account_id,
        "network": network,
        "status": task.status,
        "scheduled_at": task.scheduled_at,
        "too_long": task.too_long,
        "posted_id": task.posted_id,
        "version": task.version,
        "posts": [
            {
                "text": p.text,
                "weighted_length": x_text.measure(p.text).weighted_length,
                "length": networks.measure(network, p.text, limits=limits).length,
                "media": p.media,
            }
            for p in posts
        ],
    }


PostOut = inline_serializer(
    "ComposedPost",
    {
        "id": serializers.IntegerField(),
        "project": serializers.IntegerField(),
        "account": serializers.IntegerField(allow_null=True, help_text="None: the project's X."),
        "network": serializers.ChoiceField(choices=Network.choices),
        "status": serializers.ChoiceField(choices=PublishingTask.Status.choices),
        "scheduled_at": serializers.DateTimeField(),
        "too_long": serializers.BooleanField(),
        "posted_id": serializers.CharField(),
        "version": serializers.IntegerField(),
        "posts": serializers.ListField(child=serializers.DictField()),
        "copies": serializers.ListField(
            child=serializers.DictField(), required=False, help_text="On create: the other networks' posts."
        ),
    },
)


class PostList(APIView):
    required_scopes = {"GET": {"publishing:read"}, "POST": {"tasks:create"}}

    @extend_schema(request=ThreadCreateIn, responses={201: PostOut})
    def post(self, request):
        data = ThreadCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        project = Project.objects.owned_by(request.user).filter(pk=values["project"]).first()
        if project is None:
            raise ValidationError({"project": ["No such project."]})
        task = composer.post_create(
            project=project,
            posts=_posts(values),
            scheduled_at=values["scheduled_at"],
            priority=values["priority"],
            accounts=_accounts(request, project, values["accounts"]),
            to_x=values["to_x"],
            spoiler_text=values["spoiler_text"],
            visibility=values["visibility"],
        )
        answer = post_data(task)
        answer["copies"] = [post_data(copy) for copy in getattr(task, "copies", [])]
        return Response(answer, status=status.HTTP_201_CREATED)


class PostDetail(APIView):
    scope_area = "publishing"

    def _task(self, request, pk: int) -> PublishingTask:
        return get_owned_or_404(PublishingTask.objects.select_related("project", "account"), request.user, pk=pk)

    @extend_schema(responses=PostOut)
    def get(self, request, pk: int):
        return Response(post_data(self._task(request, pk)))

    @extend_schema(request=ThreadIn, responses=PostOut)
    def patch(self, request, pk: int):
        task = self._task(request, pk)
        data = ThreadIn(data=request.data)
        data.is_valid(raise_exception=True)
        composer.post_update(
            task=task, posts=_posts(data.validated_data), scheduled_at=data.validated_data["scheduled_at"]
        )
        return Response(post_data(task))

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        composer.post_delete(task=self._task(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostDuplicate(APIView):
    scope_area = "publishing"

    @extend_schema(request=None, responses={201: PostOut})
    def post(self, request, pk: int):
        task = get_owned_or_404(PublishingTask.objects.select_related("project", "account"), request.user, pk=pk)
        return Response(post_data(composer.post_duplicate(task=task)), status=status.HTTP_201_CREATED)


class MediaUpload(APIView):
    """Upload an image, GIF or video into your folder; use the answered path in a post."""

    required_scopes = {"GET": {"publishing:read"}, "POST": {"tasks:create"}}
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": inline_serializer("MediaUploadIn", {"file": serializers.FileField()})},
        responses={
            201: inline_serializer("MediaUploaded", {"path": serializers.CharField(), "kind": serializers.CharField()})
        },
    )
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["This field is required."]})
        path, kind = uploads.media_save(owner_id=request.user.pk, upload=upload, size=upload.size)
        return Response({"path": path, "kind": kind.name}, status=status.HTTP_201_CREATED)


class LengthIn(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, max_length=25_000, trim_whitespace=False)


class TextLength(APIView):
    """X's weighted length of a text (links 23, CJK and emoji 2) and whether it fits in 280."""

    scope_area = "publishing"

    @extend_schema(
        request=LengthIn,
        responses=inline_serializer(
            "TextLength",
            {
                "weighted_length": serializers.IntegerField(),
                "limit": serializers.IntegerField(),
                "fits": serializers.BooleanField(),
            },
        ),
    )
    def post(self, request):
        data = LengthIn(data=request.data)
        data.is_valid(raise_exception=True)
        counted = x_text.measure(data.validated_data["text"])
        return Response({"weighted_length": counted.weighted_length, "limit": counted.limit, "fits": counted.fits})
