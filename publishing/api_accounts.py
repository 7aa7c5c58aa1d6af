"""The API of a project's connected accounts (issue 19): list them, connect Bluesky (handle
and app password), connect Mastodon with an access token the owner made on their instance
(Settings → Development; the pages connect by OAuth instead), disconnect one.

Owner-scoped: a project or account of someone else is a 404. The services check the
credentials against the network and write the audit event; a refusal is a 400 naming the
field (``instance_url``, ``access_token``, ``handle``, ``app_password``). Secrets are
write-only: no answer ever carries a token or a password.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cradle_site.querysets import get_owned_or_404
from publishing import accounts
from publishing.models import NetworkAccount, Project


class AccountOut(serializers.ModelSerializer):
    class Meta:
        model = NetworkAccount
        fields = [
            "id",
            "project",
            "network",
            "handle",
            "instance_url",
            "remote_id",
            "needs_reconnect",
            "default_visibility",
            "limits",
            "created_at",
        ]
        read_only_fields = fields


class BlueskyIn(serializers.Serializer):
    handle = serializers.CharField(max_length=253, help_text="Like alice.bsky.social.")
    app_password = serializers.CharField(
        max_length=100, write_only=True, help_text="An app password (Bluesky: Settings → Privacy and security)."
    )


class MastodonIn(serializers.Serializer):
    instance_url = serializers.CharField(max_length=255, help_text="The instance, like mastodon.social.")
    access_token = serializers.CharField(
        max_length=500, write_only=True, help_text="With the scopes read:accounts, write:statuses, write:media."
    )


def _project(request, pk: int) -> Project:
    return get_owned_or_404(Project.objects.all(), request.user, pk=pk)


class AccountList(generics.ListAPIView):
    """The project's connected Mastodon and Bluesky accounts (its X is the project's own fields)."""

    scope_area = "publishing"
    serializer_class = AccountOut

    def get_queryset(self):
        project = _project(self.request, self.kwargs["pk"])
        return NetworkAccount.objects.owned_by(self.request.user).filter(project=project).order_by("id")


class BlueskyConnect(APIView):
    scope_area = "publishing"

    @extend_schema(request=BlueskyIn, responses={201: AccountOut})
    def post(self, request, pk: int):
        project = _project(request, pk)
        data = BlueskyIn(data=request.data)
        data.is_valid(raise_exception=True)
        account = accounts.account_connect_bluesky(project=project, **data.validated_data)
        return Response(AccountOut(account).data, status=status.HTTP_201_CREATED)


class MastodonConnect(APIView):
    scope_area = "publishing"

    @extend_schema(request=MastodonIn, responses={201: AccountOut})
    def post(self, request, pk: int):
        project = _project(request, pk)
        data = MastodonIn(data=request.data)
        data.is_valid(raise_exception=True)
        account = accounts.account_connect_mastodon(project=project, **data.validated_data)
        return Response(AccountOut(account).data, status=status.HTTP_201_CREATED)


class AccountDetail(APIView):
    """GET one account; DELETE disconnects it (its queued copies go with it)."""

    scope_area = "publishing"

    def _account(self, request, pk: int) -> NetworkAccount:
        return get_owned_or_404(NetworkAccount.objects.select_related("project"), request.user, pk=pk)

    @extend_schema(responses=AccountOut)
    def get(self, request, pk: int):
        return Response(AccountOut(self._account(request, pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        accounts.account_disconnect(account=self._account(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
