"""The POST body of the message page's form (the message fields plus the recipients formset)."""

from __future__ import annotations

RAE = ("Rae", "email", "rae@example.com")
HOOK = ("Hook", "webhook", "https://hooks.example.com/x")


def message_form(
    *,
    title: str = "For Rae",
    content: str = "the plan",
    months: int = 1,
    recipients: tuple[tuple[str, str, str], ...] = (RAE,),
    **extra: str,
) -> dict[str, str]:
    """``recipients`` as (name, contact type, contact); ``extra`` overrides any raw field."""
    data = {
        "title": title,
        "content": content,
        "initial_delay_months": str(months),
        "recipients-TOTAL_FORMS": str(len(recipients)),
        "recipients-INITIAL_FORMS": "0",
        "recipients-MIN_NUM_FORMS": "1",
        "recipients-MAX_NUM_FORMS": "50",
    }
    for index, (name, contact_type, contact) in enumerate(recipients):
        data |= {
            f"recipients-{index}-name": name,
            f"recipients-{index}-contact_type": contact_type,
            f"recipients-{index}-contact": contact,
        }
    return data | extra
