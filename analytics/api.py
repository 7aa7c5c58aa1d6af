"""Statistics API: hourly, daily and weekly series per project, for all projects, and for messages.

Publishing series take ``network`` (x, mastodon, bluesky) to count one network alone; every
point also holds ``networks``, the same figures per network (the point's totals are their
sums), so one request gives the per-network series.

Series are bounded by the range limits (at most 744 hourly or ANALYTICS_MAX_RANGE_DAYS daily
points), so they come whole rather than paginated. Dates are UTC days, inclusive; weeks
start on Mondays (the first one on ``from``). Daily and weekly series are read from the day roll-ups.
"""

from __future__ import annotations

from datetime import UTC

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.selectors import RangeError, SeriesRange, message_series, publishing_series, series_range
from cradle_site.querysets import get_owned_or_404
from publishing.models import Network

_RANGE_PARAMS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (UTC), default 6 days before `to`."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (UTC, inclusive), default today."),
]
_PUBLISHING_PARAMS = [
    *_RANGE_PARAMS,
    OpenApiParameter(
        "network", OpenApiTypes.STR, enum=Network.values, description="One network's figures (default: all)."
    ),
]


class RangeSerializer(serializers.Serializer):
    def get_fields(self):
        fields = {"from": serializers.DateField(required=False), "to": serializers.DateField(required=False)}
        if self.context.get("publishing"):
            fields["network"] = serializers.ChoiceField(choices=Network.values, required=False)
        return fields

    def validate(self, attrs):
        try:
            attrs["range"] = series_range(
                first_day=attrs.get("from"), last_day=attrs.get("to"), interval=self.context["interval"], tz=UTC
            )
        except RangeError as exc:
            raise serializers.ValidationError({exc.field: [exc.reason]})
        return attrs


def _range(request, interval: str) -> SeriesRange:
    serializer = RangeSerializer(data=request.query_params, context={"interval": interval})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["range"]


def _publishing_query(request, interval: str) -> tuple[SeriesRange, str | None]:
    """The range and the network (None: every network) of a publishing series request."""
    serializer = RangeSerializer(data=request.query_params, context={"interval": interval, "publishing": True})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["range"], serializer.validated_data.get("network")


def _points(points: list[dict]) -> list[dict]:
    return [{**point, "start": point["start"].astimezone(UTC).isoformat()} for point in points]


def _body(rng: SeriesRange, points: list[dict], **extra) -> dict:
    return {
        **extra,
        "interval": rng.interval,
        "from": rng.first_day.isoformat(),
        "to": rng.last_day.isoformat(),
        "series": _points(points),
    }


class _SeriesView(APIView):
    required_scopes = {"GET": {"analytics:read"}}
    interval = "hour"


class ProjectSeriesView(_SeriesView):
    @extend_schema(
        parameters=_PUBLISHING_PARAMS, responses=OpenApiTypes.OBJECT, summary="Publishing series of one project"
    )
    def get(self, request, pk: int):
        from publishing.models import Project

        project = get_owned_or_404(Project.objects.all(), request.user, pk=pk)
        rng, network = _publishing_query(request, self.interval)
        points = publishing_series(user=request.user, rng=rng, project=project, network=network)
        return Response(_body(rng, points, project=project.pk, network=network))


class PublishingSeriesView(_SeriesView):
    @extend_schema(
        parameters=_PUBLISHING_PARAMS, responses=OpenApiTypes.OBJECT, summary="Publishing series, all projects"
    )
    def get(self, request):
        rng, network = _publishing_query(request, self.interval)
        return Response(_body(rng, publishing_series(user=request.user, rng=rng, network=network), network=network))


class MessageSeriesView(_SeriesView):
    @extend_schema(parameters=_RANGE_PARAMS, responses=OpenApiTypes.OBJECT, summary="Cradle message activity series")
    def get(self, request):
        rng = _range(request, self.interval)
        return Response(_body(rng, message_series(user=request.user, rng=rng)))
