"""``{% two_factor_suggestion %}``: a short nudge to turn two-factor on, for a user who has none."""

from __future__ import annotations

from django import template

from accounts import mfa

register = template.Library()


@register.inclusion_tag("accounts/_two_factor_suggestion.html", takes_context=True)
def two_factor_suggestion(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    # A session that passed a second factor has one: no query on every page view for those users.
    show = bool(user and user.is_authenticated) and not (
        request.session.get(mfa.SESSION_VERIFIED) or mfa.user_has_second_factor(user)
    )
    return {"show": show}
