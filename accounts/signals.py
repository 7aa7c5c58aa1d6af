"""Signals ``accounts`` sends to the apps that import it (``accounts`` imports none of them)."""

from django.dispatch import Signal

# The account e-mail became verified (it was not before): ``user``. Messaging releases the
# warnings it held for this owner (messaging.owner_contacts).
email_verified = Signal()
