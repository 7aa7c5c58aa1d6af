"""The ops app's models, one module per concept (Django finds them through this file)."""

from ops.audit_models import AuditEvent  # noqa: F401
