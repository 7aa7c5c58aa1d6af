"""Model fields shared by the apps."""

from __future__ import annotations

from django.db import models

from cradle_site import crypto


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; Python code only ever sees the plaintext.

    The column holds ciphertext, so it cannot be searched, ordered or indexed; keep
    anything you need to query in a separate, non-secret column.
    """

    description = "Text encrypted at rest with Fernet"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
