"""The API's shared pieces: pagination and one error format.

Every error the API returns has the shape
``{"error": {"code": "...", "message": "...", "fields": {"field": ["reason", ...]}}}``,
so clients handle validation, auth and throttling the same way.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def _flatten(detail) -> dict:
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub_key, sub_value in _flatten(value).items():
                    # ListField errors come keyed by index: name them like list items.
                    head, dot, rest = str(sub_key).partition(".")
                    joined = f"{key}[{head}]{dot}{rest}" if head.isdigit() else f"{key}.{sub_key}"
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


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
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


def _keep_headers(response) -> dict:
    return {k: v for k, v in response.items() if k in {"WWW-Authenticate", "Retry-After", "Allow"}}
