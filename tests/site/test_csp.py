"""The Content-Security-Policy header is on every page, the admin and the API docs, and it
lets no inline script run.

The page routes come from the URL resolver with the arguments of the write walk's tables
(``tests/site/test_write_walk.py`` fails when a route is missing there), so a page added
later is checked too. The browser side (no CSP violation in the console of any page) is
``tests/browser/test_every_page.py``.
"""

from __future__ import annotations

import pytest
from django.contrib.admin import site as admin_site
from django.urls import reverse

from tests.site.test_write_walk import READS, VIEWER_MAY, WRITES, _page_route_names, world  # noqa: F401

pytestmark = pytest.mark.django_db

REQUIRED = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def _policy(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']}: no Content-Security-Policy ({response.status_code})"
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _assert_strict(response) -> None:
    policy = _policy(response)
    path = response.request["PATH_INFO"]
    for directive, sources in REQUIRED.items():
        assert policy.get(directive) == sources, (path, directive, policy.get(directive))
    # Styles: our own files only; no page of ours needs an inline style attribute either.
    assert policy.get("style-src") == ["'self'"], (path, policy.get("style-src"))
    for directive in ("script-src", "default-src", "style-src"):
        assert "'unsafe-inline'" not in policy[directive] and "'unsafe-eval'" not in policy[directive], path


def _kwargs(name: str, w) -> dict:
    if name in READS:
        return READS[name].kwargs(w)
    if name in VIEWER_MAY:
        return VIEWER_MAY[name].case.kwargs(w)
    return WRITES[name][0].kwargs(w)


def test_it_is_on_every_page_route_for_the_owner_and_for_a_visitor(client, world):  # noqa: F811
    names = sorted(_page_route_names())
    assert len(names) > 30
    for who in ("visitor", "owner"):
        if who == "owner":
            client.force_login(world.owner)
        for name in names:
            response = client.get(reverse(name, kwargs=_kwargs(name, world)))
            assert response.status_code != 500, name
            _assert_strict(response)


def test_it_is_on_every_admin_page(client, staff, world):  # noqa: F811
    client.force_login(staff)
    paths = [reverse("admin:index"), reverse("admin:login"), reverse("admin:password_change")]
    for model in admin_site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        paths.append(reverse("admin:{}_{}_changelist".format(*info)))
        paths.append(reverse("admin:{}_{}_add".format(*info)))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            paths.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 302, 403), (path, response.status_code)
        _assert_strict(response)


def test_it_is_on_the_api_docs_and_their_script_is_a_file_not_inline(client, owner):
    client.force_login(owner)
    page = client.get(reverse("api-docs"))
    assert page.status_code == 200
    _assert_strict(page)
    html = page.content.decode()
    # Every <script> of the page has a src (the start-up script is the split view's ?script),
    # and no inline <style> is left from drf-spectacular's template.
    assert html.count("<script") == html.count("<script src=") == 3
    assert "<style" not in html
    script = client.get(reverse("api-docs") + "?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()


def test_it_is_on_the_api_schema_and_on_a_404(client, owner):
    client.force_login(owner)
    _assert_strict(client.get(reverse("api-schema")))
    _assert_strict(client.get("/no/such/page/"))


def test_no_template_of_ours_has_inline_script_or_style():
    """What the header would refuse, found before a browser does: a <script> without src,
    an on* handler attribute, a style attribute or a <style> block in any page template."""
    import re
    from pathlib import Path

    from django.conf import settings

    root = Path(settings.BASE_DIR)
    offending = []
    for template in root.glob("*/templates/**/*.html"):
        if "/email/" in template.as_posix():  # e-mails are not served under the header
            continue
        text = template.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"\sstyle\s*=", r"<style\b"):
            for match in re.finditer(pattern, text):
                offending.append(f"{template.relative_to(root)}: {match.group(0)}")
    assert offending == []
