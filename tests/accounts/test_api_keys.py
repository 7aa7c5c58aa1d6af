from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.api_keys import apikey_authenticate, apikey_create, apikey_revoke
from accounts.models import ApiKey, User

ME = "/api/v1/me"


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_it_never_stores_the_secret(owner):
    new = apikey_create(user=owner, name="ci", permissions=["account:read"])
    secret_part = new.secret.split("_", 2)[2]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apikey WHERE id = %s", [new.api_key.pk])
        row = cursor.fetchone()
    raw = " ".join(str(value) for value in row)
    assert secret_part not in raw
    assert new.secret not in raw
    assert new.api_key.prefix in raw  # the public part is what finds the row


def test_it_authenticates_with_bearer_and_api_key_headers(owner):
    new = apikey_create(user=owner, name="ci", permissions=["account:read"])
    response = bearer(new.secret).get(ME)
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert response.json()["scopes"] == ["account:read"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {new.secret}")
    assert client.get(ME).status_code == 200


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s[:-2] + ("AA" if not s.endswith("AA") else "BB"), "Invalid API key."),
        (lambda s: "crd_zzzzzzzz_" + s.split("_", 2)[2], "Invalid API key."),
        (lambda s: "not-a-key", "Malformed API key"),
    ],
)
def test_it_refuses_a_wrong_key_with_401(owner, mutate, message):
    new = apikey_create(user=owner, name="ci", permissions=["account:read"])
    response = bearer(mutate(new.secret)).get(ME)
    assert response.status_code == 401
    assert message in response.json()["error"]["message"]
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_a_revoked_key(owner):
    new = apikey_create(user=owner, name="ci", permissions=["account:read"])
    assert apikey_revoke(api_key=new.api_key) is True
    assert apikey_revoke(api_key=new.api_key) is False
    response = bearer(new.secret).get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key has been revoked."


def test_it_refuses_an_expired_key(owner, time_machine_now):
    new = apikey_create(
        user=owner, name="ci", permissions=["account:read"], expires_at=timezone.now() + timedelta(days=1)
    )
    assert bearer(new.secret).get(ME).status_code == 200
    time_machine_now(timezone.now() + timedelta(days=2))
    response = bearer(new.secret).get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key has expired."


def test_it_refuses_a_key_without_the_scope_with_403(owner):
    new = apikey_create(user=owner, name="ci", permissions=["messages:read"])
    response = bearer(new.secret).get(ME)
    assert response.status_code == 403
    assert "account:read" in response.json()["error"]["message"]


def test_it_needs_credentials(db):
    response = APIClient().get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_it_writes_last_used_at_most_once_per_window(owner, django_assert_num_queries):
    new = apikey_create(user=owner, name="ci", permissions=["account:read"])
    apikey_authenticate(new.secret)
    first = ApiKey.objects.get(pk=new.api_key.pk).last_used
    assert first is not None
    # Within the window: one SELECT, no UPDATE.
    with django_assert_num_queries(1):
        apikey_authenticate(new.secret)
    assert ApiKey.objects.get(pk=new.api_key.pk).last_used == first


def test_it_rejects_unknown_scopes_at_creation(owner):
    with pytest.raises(ValueError, match="unknown scope 'messages:delete'"):
        apikey_create(user=owner, name="ci", permissions=["messages:delete"])


def test_it_maps_the_seed_permission_names(owner):
    new = apikey_create(user=owner, name="ci", permissions=["can_create_task", "can_read_status"])
    assert new.api_key.permissions == ["tasks:create", "tasks:read_status"]


def test_api_key_creation_by_session_returns_secret_once(owner):
    client = APIClient()
    client.force_login(owner)
    response = client.post("/api/v1/keys", {"name": "svc", "permissions": ["account:read"]}, format="json")
    assert response.status_code == 201
    secret = response.json()["key"]
    assert bearer(secret).get(ME).status_code == 200
    listing = client.get("/api/v1/keys").json()
    assert "key" not in listing["results"][0]
    assert secret not in str(listing)


def test_api_key_creation_reports_bad_fields(owner):
    client = APIClient()
    client.force_login(owner)
    response = client.post("/api/v1/keys", {"name": "", "permissions": ["nope"]}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "name" in fields
    assert "unknown scope 'nope'" in fields["permissions"][0]


def test_a_key_cannot_mint_or_revoke_keys(owner):
    new = apikey_create(user=owner, name="ci", permissions=list(__import__("accounts.scopes").scopes.SCOPES))
    client = bearer(new.secret)
    assert client.post("/api/v1/keys", {"name": "x", "permissions": ["account:read"]}, format="json").status_code == 403
    response = client.post(f"/api/v1/keys/{new.api_key.pk}/revoke")
    assert response.status_code == 403
    # The reason names the rule, not an internal scope name ("lacks the scope __session_only__").
    assert response.json()["error"]["message"] == "An API key cannot do this: log in on the site to manage API keys."


def test_keys_page_shows_the_secret_once(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("accounts:apikey_list"), {"name": "laptop", "permissions": ["account:read", "messages:read"]}
    )
    assert response.status_code == 200
    secret = response.context["new_key"].secret
    assert secret in response.content.decode()
    again = client.get(reverse("accounts:apikey_list"))
    assert secret not in again.content.decode()
    assert "laptop" in again.content.decode()


def test_keys_page_shows_form_errors(client, owner):
    client.force_login(owner)
    response = client.post(reverse("accounts:apikey_list"), {"name": "", "expires_at": "yesterday"})
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"name", "permissions", "expires_at"}
    assert not ApiKey.objects.exists()


def test_an_expiry_at_the_end_of_the_calendar_is_refused(client, owner):
    # 23:59 on 9999-12-31 in Los Angeles is past the last datetime in UTC: it was a 500 on save,
    # and the same moment entered in UTC broke the page later for anyone east of UTC.
    owner.time_zone = "America/Los_Angeles"
    owner.save()
    client.force_login(owner)
    page = client.post(
        reverse("accounts:apikey_list"),
        {"name": "late", "permissions": ["account:read"], "expires_at": "9999-12-31 23:59"},
    )
    assert page.status_code == 200
    assert page.context["form"].errors == {"expires_at": ["Choose a date between 2000-01-01 and 2999-12-31."]}
    api = APIClient()
    api.force_login(owner)
    response = api.post(
        "/api/v1/keys",
        {"name": "late", "permissions": ["account:read"], "expires_at": "9999-12-31T23:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"expires_at": ["Choose a date between 2000-01-01 and 2999-12-31."]}
    assert not ApiKey.objects.exists()


def test_keys_list_query_count_is_flat(client, owner, django_assert_max_num_queries):
    client.force_login(owner)
    for index in range(3):
        apikey_create(user=owner, name=f"k{index}", permissions=["account:read"])
    with django_assert_max_num_queries(8) as small:
        client.get(reverse("accounts:apikey_list"))
    for index in range(30):
        apikey_create(user=owner, name=f"more{index}", permissions=["account:read"])
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("accounts:apikey_list"))


def test_api_key_expiry_must_be_in_the_future(owner):
    client = APIClient()
    client.force_login(owner)
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = client.post("/api/v1/keys", {"name": "old", "permissions": ["account:read"], "expires_at": past})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["expires_at"] == ["The expiry must be in the future."]
    assert not ApiKey.objects.exists()


def test_a_viewer_is_offered_and_granted_only_read_scopes(client, owner):
    # A viewer's key with a write scope would be refused on every write: the page never makes one.
    owner.role = User.Role.VIEWER
    owner.save()
    client.force_login(owner)
    page = client.get(reverse("accounts:apikey_list"))
    offered = {value for value, _label in page.context["form"].fields["permissions"].choices}
    assert "messages:read" in offered and not offered & {"messages:write", "publishing:write", "tasks:create"}
    assert "Your account is read only, so its keys can only read." in page.content.decode()

    response = client.post(reverse("accounts:apikey_list"), {"name": "sneaky", "permissions": ["messages:write"]})
    assert "permissions" in response.context["form"].errors
    assert not ApiKey.objects.exists()


def test_an_editor_is_offered_write_scopes(client, owner):
    client.force_login(owner)
    page = client.get(reverse("accounts:apikey_list"))
    assert "messages:write" in {value for value, _label in page.context["form"].fields["permissions"].choices}
