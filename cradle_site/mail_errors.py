"""What a failed e-mail tells the user, and what it tells the log: ``outbound_errors`` for SMTP.

``mail_failure`` turns any exception of a send through Django's mail backends (smtplib's,
the socket's, ssl's, Django's own) into a ``MailError``: a ``kind`` from a short vocabulary
and one plain sentence with at most the relay's reply code ("The mail server refused this
address (550)."). That sentence is what a delivery's ``last_error``, the history, the
message page, the admin, the staff alarm and ``/healthz`` show. It never carries the
exception's repr or the relay's own words: a refusal's text names the internal relay
(``internal-relay.corp``), its software and queue ids, and "connection refused" against
"no route to host" against a name that does not resolve maps the server's network. The
full text goes to the server log, with credentials redacted.

Whether a retry can help is decided from the kind (``PERMANENT_KINDS``), so what the user
reads and how Cradle acts cannot disagree.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from enum import StrEnum

from django.core.mail import BadHeaderError
from django.utils.translation import gettext as _

from cradle_site.outbound_errors import redact

log = logging.getLogger("cradle_site.mail")


class MailKind(StrEnum):
    """Why an e-mail was not sent; a vocabulary, never free text."""

    ADDRESS_REFUSED = "address_refused"  # a 5xx for the recipient: the address does not exist
    ADDRESS_DEFERRED = "address_deferred"  # a 4xx for the recipient: the relay asks to try later
    MESSAGE_REFUSED = "message_refused"  # a 5xx for the mail itself (after DATA); one recipient per mail
    MESSAGE_DEFERRED = "message_deferred"  # a 4xx for the mail itself
    INVALID_MESSAGE = "invalid_message"  # it cannot be made into an e-mail (a header, an encoding)
    RELAY_SETTINGS = "relay_settings"  # the relay refused our sender or our log-in: staff fix the settings
    UNREACHABLE = "unreachable"  # no connection to the relay, or it went away
    TIMEOUT = "timeout"
    TLS = "tls"  # no secure connection to the relay
    FAILED = "failed"  # anything else


# A retry of the same mail fails the same way: the address is gone, or the mail cannot be sent.
PERMANENT_KINDS = frozenset({MailKind.ADDRESS_REFUSED, MailKind.MESSAGE_REFUSED, MailKind.INVALID_MESSAGE})


class MailError(Exception):
    """An e-mail was not sent. ``str()`` is the sentence a user may see."""

    def __init__(self, kind: MailKind, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code

    @property
    def permanent(self) -> bool:
        return self.kind in PERMANENT_KINDS


def _code(value: object) -> int | None:
    return value if isinstance(value, int) and 100 <= value <= 599 else None


def _classify(exc: BaseException) -> MailError:
    if isinstance(exc, BadHeaderError | UnicodeError):
        return MailError(MailKind.INVALID_MESSAGE, _("This message could not be made into an e-mail."))
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c in (_code(code) for code, _reply in exc.recipients.values()) if c is not None]
        code = min(codes) if codes else None
        if code is not None and code >= 500:
            return MailError(
                MailKind.ADDRESS_REFUSED,
                _("The mail server refused this address (%(code)s).") % {"code": code},
                code=code,
            )
        return MailError(
            MailKind.ADDRESS_DEFERRED,
            _("The mail server turned this address away for now (%(code)s) — Cradle will try again.")
            % {"code": code or "4xx"},
            code=code,
        )
    if isinstance(exc, smtplib.SMTPConnectError):  # the relay's greeting was not 220: it is not taking mail
        return MailError(MailKind.UNREACHABLE, _("Couldn't reach the mail server — Cradle will try again."))
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError):
        code = _code(exc.smtp_code)
        return MailError(
            MailKind.RELAY_SETTINGS,
            _("The mail server refused Cradle's sender or log-in (%(code)s) — staff must check the mail settings.")
            % {"code": code or "?"},
            code=code,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code = _code(exc.smtp_code)
        if code is not None and code >= 500:
            return MailError(
                MailKind.MESSAGE_REFUSED,
                _("The mail server refused this message (%(code)s).") % {"code": code},
                code=code,
            )
        return MailError(
            MailKind.MESSAGE_DEFERRED,
            _("The mail server put this message off (%(code)s) — Cradle will try again.") % {"code": code or "4xx"},
            code=code,
        )
    if isinstance(exc, ssl.SSLError | smtplib.SMTPNotSupportedError):
        return MailError(
            MailKind.TLS, _("Couldn't make a secure connection to the mail server — Cradle will try again.")
        )
    if isinstance(exc, socket.timeout | TimeoutError):
        return MailError(MailKind.TIMEOUT, _("The mail server took too long to answer — Cradle will try again."))
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError | OSError):
        # Refused, reset, no route, no such host, closed mid-way: one sentence (see the module doc).
        return MailError(MailKind.UNREACHABLE, _("Couldn't reach the mail server — Cradle will try again."))
    return MailError(MailKind.FAILED, _("The e-mail could not be sent — Cradle will try again."))


def mail_failure(exc: BaseException, *, what: str) -> MailError:
    """The ``MailError`` for any exception of sending ``what`` (for the log: "delivery 12",
    "warning for message 7"); the full text goes to the log, redacted."""
    if isinstance(exc, MailError):
        return exc
    error = _classify(exc)
    log.warning("e-mail (%s) not sent (%s): %s", what, error.kind, redact(f"{exc!r}"))
    return error
