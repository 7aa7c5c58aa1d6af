"""User B can neither see nor revoke user A's keys: pages, API, admin."""

from django.urls import reverse
from rest_framework.test import APIClient

from accounts.api_keys import apikey_create
from accounts.models import ApiKey


def test_other_user_cannot_see_keys_on_the_page(client, owner, other_user):
    apikey_create(user=owner, name="alice-secret-key", permissions=["account:read"])
    client.force_login(other_user)
    response = client.get(reverse("accounts:apikey_list"))
    assert "alice-secret-key" not in response.content.decode()


def test_other_user_cannot_revoke_by_page(client, owner, other_user):
    key = apikey_create(user=owner, name="k", permissions=["account:read"]).api_key
    client.force_login(other_user)
    response = client.post(reverse("accounts:apikey_revoke", args=[key.pk]))
    assert response.status_code == 404
    assert ApiKey.objects.get(pk=key.pk).is_active


def test_other_user_cannot_see_or_revoke_by_api(owner, other_user):
    key = apikey_create(user=owner, name="alice-key", permissions=["account:read"]).api_key
    client = APIClient()
    client.force_login(other_user)
    assert "alice-key" not in str(client.get("/api/v1/keys").json())
    response = client.post(f"/api/v1/keys/{key.pk}/revoke")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert ApiKey.objects.get(pk=key.pk).is_active


def test_an_editor_has_no_admin_access(client, owner):
    apikey = apikey_create(user=owner, name="k", permissions=["account:read"]).api_key
    client.force_login(owner)
    assert client.get(reverse("admin:index")).status_code == 302
    assert client.get(reverse("admin:accounts_apikey_changelist")).status_code == 302
    response = client.post(
        reverse("admin:accounts_apikey_changelist"), {"action": "revoke", "_selected_action": [apikey.pk]}
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert ApiKey.objects.get(pk=apikey.pk).is_active


def test_staff_sees_keys_without_secret_and_can_revoke(client, owner, staff):
    new = apikey_create(user=owner, name="k", permissions=["account:read"])
    client.force_login(staff)
    page = client.get(reverse("admin:accounts_apikey_change", args=[new.api_key.pk])).content.decode()
    assert new.api_key.key_hash not in page
    assert new.secret.split("_", 2)[2] not in page
    client.post(
        reverse("admin:accounts_apikey_changelist"),
        {"action": "revoke", "_selected_action": [new.api_key.pk], "index": "0", "confirmed": "yes"},
    )
    assert not ApiKey.objects.get(pk=new.api_key.pk).is_active


def test_role_decides_admin_access(db):
    from accounts.models import User

    user = User.objects.create_user(username="x", email="x@example.com", password="pw-x-12345!", role="admin")
    assert user.is_staff
    user.role = User.Role.EDITOR
    user.save()
    assert not user.is_staff
