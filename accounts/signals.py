"""Signals ``accounts`` sends to the apps that import it (``accounts`` imports none of them)."""

from django.dispatch import Signal

# The account e-mail became verified (it was not before): ``user``. Messaging releases the
# warnings it held for this owner (messaging.owner_contacts).
email_verified = Signal()

# An API request was authenticated by a key: ``api_key`` (its ``user`` is the caller). Sent
# on every successful key authentication; messaging counts it as the owner's activity for the
# messages that opted in (messaging.activity), throttled there.
api_key_used = Signal()

# An operation of ``accounts`` to append to the audit log: ``event_type`` plus the keyword
# arguments of ``ops.audit.audit_record`` (which receives it and returns the row). Sent inside
# the operation's transaction; signals are synchronous, so the row commits or rolls back with it.
audit_event = Signal()
