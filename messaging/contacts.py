"""When two recipients' contacts are the same address: the one normaliser for comparing them.

A message goes to each address once (promise 2), so the services refuse a second recipient
with the same address and the sweep queues one delivery per address even for rows that
reached the table some other way. What is stored stays what the user typed; only the
comparison is normalised:

- e-mail: the whole address without case. RFC 5321 lets the local part be case-sensitive,
  but the big providers ignore its case and two spellings of one mailbox are far likelier
  than two mailboxes that differ only in case.
- SMS: the E.164 number without spaces, dashes, dots and parentheses.
- webhook: scheme and host without case, the default port dropped, a trailing slash on the
  path ignored; the rest of the path and the query are compared as typed (a fragment is
  never sent, so it is left out).

The contact is stored encrypted; ``contact_hash`` (a keyed hash of this key, kept in
``Recipient.contact_hash``) is how the database compares and finds addresses without
decrypting them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from cradle_site.crypto import lookup_hash
from messaging.models import Recipient

_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def contact_key(contact_type: str, contact: str) -> tuple[str, str]:
    """What two recipients of one message must not share: (type, normalised contact)."""
    contact = (contact or "").strip()
    if contact_type == Recipient.ContactType.EMAIL:
        return contact_type, contact.lower()
    if contact_type == Recipient.ContactType.SMS:
        return contact_type, _PHONE_PUNCTUATION.sub("", contact)
    if contact_type == Recipient.ContactType.WEBHOOK:
        return contact_type, _url_key(contact)
    return contact_type, contact


def contact_hash(contact_type: str, contact: str) -> str:
    """The keyed hash of ``contact_key``: equal for two spellings of one address, and nothing
    a reader of the table can turn back into the address."""
    kind, key = contact_key(contact_type, contact)
    return lookup_hash(f"{kind}:{key}")


def contact_hashes_any_type(contact: str) -> list[str]:
    """The hash ``contact`` would have as each kind of address: a search box does not say which it is."""
    return [contact_hash(kind, contact) for kind in Recipient.ContactType.values]


def _url_key(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    try:
        port = parts.port
    except ValueError:  # not a number: compare as typed (validation refuses it anyway)
        return url
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}{query}"
