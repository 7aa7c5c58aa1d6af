"""A service's ``ValidationError`` shown on the page's form: one way for every view.

Services raise ``ValidationError({field: [reasons]})`` in the names of the model; the API maps
the same error to a 400 naming the field (``cradle_site.api``). On a page each reason goes to
the form field of that name, or to the form's top when the form has no such field (a rule
that spans fields, or a field the page does not show), so no reason is ever lost.
"""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError


def add_service_errors(
    form: forms.BaseForm, error: ValidationError, *, field_of: Mapping[str, str] | None = None
) -> None:
    """Put each reason of ``error`` on ``form``; ``field_of`` renames service fields the page calls otherwise."""
    for key, reasons in error.message_dict.items():
        field = (field_of or {}).get(key, key)
        form.add_error(field if field in form.fields else None, reasons)
