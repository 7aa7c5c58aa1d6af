from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import scopes
from accounts.api_auth import SESSION_ONLY
from accounts.api_keys import apikey_create, apikey_revoke, validate_expiry
from accounts.models import ApiKey, User
from cradle_site import dates
from cradle_site.querysets import get_owned_or_404


class MeOutput(serializers.ModelSerializer):
    scopes = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ("id", "username", "email", "role", "time_zone", "language", "created_at", "scopes")

    def get_scopes(self, user) -> list[str]:
        auth = self.context["request"].auth
        return sorted(auth.scopes) if isinstance(auth, ApiKey) else sorted(scopes.SCOPES)


class MeView(APIView):
    required_scopes = {"GET": {"account:read"}}

    @extend_schema(responses=MeOutput)
    def get(self, request):
        return Response(MeOutput(request.user, context={"request": request}).data)


class ApiKeyOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ("id", "name", "prefix", "permissions", "created_at", "last_used", "expires_at", "is_active", "state")


class ApiKeyInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    permissions = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, validators=[dates.validate_in_window, validate_expiry]
    )

    def validate_permissions(self, value):
        try:
            return scopes.normalise(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class ApiKeyListCreateView(ListAPIView):
    """Your API keys (no secrets). Managing keys needs a browser session: a key cannot
    mint or revoke keys, so a leaked key cannot make itself permanent."""

    serializer_class = ApiKeyOutput
    required_scopes = {"GET": {"account:read"}, "POST": {SESSION_ONLY}}

    def get_queryset(self):
        return ApiKey.objects.owned_by(self.request.user)

    @extend_schema(request=ApiKeyInput, responses={201: ApiKeyOutput})
    def post(self, request):
        data = ApiKeyInput(data=request.data)
        data.is_valid(raise_exception=True)
        new = apikey_create(user=request.user, request=request, **data.validated_data)
        body = ApiKeyOutput(new.api_key).data | {"key": new.secret}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyRevokeView(APIView):
    required_scopes = {"POST": {SESSION_ONLY}}

    @extend_schema(request=None, responses=ApiKeyOutput)
    def post(self, request, pk: int):
        api_key = get_owned_or_404(ApiKey.objects.all(), request.user, pk=pk)
        apikey_revoke(api_key=api_key, request=request)
        return Response(ApiKeyOutput(api_key).data)
