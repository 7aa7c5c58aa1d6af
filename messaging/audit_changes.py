"""Which fields of a message an update changes, by NAME, for the audit log (``ops.audit``).

Never the values: the title, the text and the recipients' contacts are secret (encrypted at
rest), so the log says "content, recipients changed" and nothing about what they say.
"""

from __future__ import annotations

from messaging.models import Message, MessageBody


def message_changed_fields(
    locked: Message,
    *,
    title: str,
    content: str,
    months: int,
    activity_resets: bool | None,
    recipients: list[dict] | None,
) -> list[str]:
    """Call under the row lock, before the update writes anything."""
    changed = []
    if title != locked.title:
        changed.append("title")
    old_content = MessageBody.objects.filter(message=locked).values_list("content", flat=True).first()
    if old_content != content:
        changed.append("content")
    if months != locked.initial_delay_months:
        changed.append("initial_delay_months")
    if activity_resets is not None and bool(activity_resets) != locked.activity_resets:
        changed.append("activity_resets")
    if recipients is not None:
        old = sorted((r.name, r.contact_type, r.contact, r.tell_named) for r in locked.recipients.all())
        new = sorted(
            (item["name"], item["contact_type"], item["contact"], item.get("tell_named", False)) for item in recipients
        )
        if old != new:
            changed.append("recipients")
    return changed
