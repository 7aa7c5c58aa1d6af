"""The API's shared pieces: pagination and one error format.

Every error the API returns has the shape
``{"error": {"code": "...", "message": "...", "fields": {"field": ["reason", ...]}}}``,
so clients handle validation, auth and throttling the same way. ``exception_handler`` is
the only place that maps exceptions to that body: a service's Django ``ValidationError``
and a ``StateError`` are 400s like a serializer's errors, and ``Busy`` (the database kept
rolling the change back for a lock conflict; nothing was saved) is a 503 with code ``busy``
and ``Retry-After``, so API views call services without a try/except of their own, and
none of them can become a 500.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from cradle_site.errors import Busy, StateError


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class CursorPagination(pagination.CursorPagination):
    """Keyset pages (``next``/``previous`` links, no ``count``): the last page costs what the first does.

    It follows the view's queryset ordering (e.g. ``-created_at, -id``), so a view states its
    order once, where an index serves it; an invalid cursor is a 404 in the API's error shape.
    """

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        return tuple(queryset.query.order_by) or self.ordering


class IdsFirstCursorPagination(pagination.CursorPagination):
    """Keyset pages by a subclass's ``ordering`` (field, id), for rows too wide to sort whole.

    The page is chosen on (id, field) alone, then its rows are read in full: the sort never
    carries the JSON and texts of skipped rows (publishing's tasks and logs).
    """

    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        keys = super().paginate_queryset(queryset.only("pk", self.ordering[0].lstrip("-")), request, view)
        rows = queryset.order_by().in_bulk([row.pk for row in keys])
        return [rows[row.pk] for row in keys]


def _flatten(detail) -> dict:
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub_key, sub_value in _flatten(value).items():
                    # ListField errors come keyed by index: name them like list items.
                    head, dot, rest = str(sub_key).partition(".")
                    if sub_key == "non_field_errors":  # an error about the field as a whole
                        joined = key
                    elif head.isdigit():
                        joined = f"{key}[{head}]{dot}{rest}"
                    else:
                        joined = f"{key}.{sub_key}"
                    out[joined] = sub_value
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for index, item in enumerate(value):
                    for sub_key, sub_value in _flatten(item).items():
                        out[f"{key}[{index}].{sub_key}"] = sub_value
            else:
                out[key] = [str(v) for v in (value if isinstance(value, list) else [value])]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(v) for v in detail]}
    return {}


def _django_detail(exc: DjangoValidationError) -> dict:
    if not hasattr(exc, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else key): reasons
        for key, reasons in exc.message_dict.items()
    }


class BusyError(exceptions.APIException):
    """503 for ``cradle_site.errors.Busy``; DRF's handler writes ``wait`` as Retry-After."""

    status_code = 503
    default_code = "busy"
    default_detail = _("Cradle is busy; nothing was saved. Please try again.")

    def __init__(self, wait: int) -> None:
        super().__init__()
        self.wait = wait


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(_django_detail(exc))
    if isinstance(exc, StateError):
        # One field for a wrong state in every app, whatever the model calls its state.
        return exceptions.ValidationError({"state": [str(exc)]})
    if isinstance(exc, Busy):
        return BusyError(wait=exc.retry_after)
    return exc


def exception_handler(exc, context):
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        message = "Invalid input."
        first = next(iter(fields.items()), None)
        if first:
            message = f"{first[0]}: {first[1][0]}"
        code = "invalid"
    else:
        detail = getattr(exc, "detail", str(exc))
        message = str(detail if not isinstance(detail, (list, dict)) else exc)
        codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        code = codes if isinstance(codes, str) else "error"
        fields = {}
    body = {"error": {"code": code, "message": message, "fields": fields}}
    return Response(body, status=response.status_code, headers=_keep_headers(response))


_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "invalid, parse_error, not_authenticated, authentication_failed, "
                    "permission_denied, not_found, method_not_allowed, throttled or busy.",
                },
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Reasons per field; nested fields are named like recipients[0].contact.",
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}
_ERROR_TEXT = {
    "400": (
        "Invalid input (code `invalid`): `fields` names each bad field with its reasons, errors about no one "
        "field under `non_field_errors`. A state that does not allow the action (a revoked message, a "
        "published task) is also code `invalid`, with the reason under `fields.state`. A body that is not "
        "JSON is code `parse_error`."
    ),
    "401": "No API key, or a malformed, revoked or expired one.",
    "403": "The key lacks the scope, or the account cannot write.",
    "404": "No such object among yours (or no such page).",
    "429": "Too many requests; see Retry-After.",
    "503": (
        "Busy (code `busy`): the change met another one on the same object and lost the race more often "
        "than Cradle retries it; nothing was saved. Send the same request again after Retry-After seconds."
    ),
}


def error_responses_hook(result, generator, request, public):
    """drf-spectacular post-processing: document the error format on every operation.

    401, 403 and 429 can answer anything; 400 any change (bad body or state) or a read with
    query parameters; 503 any change (busy: nothing saved, try again); 404 anything with an
    id in the path or a page number.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
            codes = ["401", "403", "429"]
            if method != "get" or query:
                codes.append("400")
            if method != "get":
                codes.append("503")
            if "{" in path or any(p.get("name") == "page" for p in query):
                codes.append("404")
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(
                    code,
                    {
                        "description": _ERROR_TEXT[code],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                )
    return result


def _keep_headers(response) -> dict:
    return {k: v for k, v in response.items() if k in {"WWW-Authenticate", "Retry-After", "Allow"}}
