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


class KeyedHashField(models.CharField):
    """A keyed hash (``crypto.lookup_hash``) of values held in other columns, for finding rows by them.

    Written on every save and bulk insert from the instance (``pre_save``), so no caller can
    forget it; ``bulk_update`` and ``QuerySet.update`` do not call it, so anything that rewrites
    a source column that way writes the hash too. A subclass names its ``sources`` and says
    how to turn them into the hashed text (``digest``); ``rotate_secrets`` finds every such
    column and recomputes it (``ops.rotation``), which is what a change of SECRET_KEY needs.
    """

    description = "Keyed hash of other columns, for exact lookups"
    sources: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def digest(self, instance) -> str:
        raise NotImplementedError

    def pre_save(self, model_instance, add):
        value = self.digest(model_instance)
        setattr(model_instance, self.attname, value)
        return value
