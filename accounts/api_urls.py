from django.urls import path

from accounts import api

urlpatterns = [
    path("me", api.MeView.as_view(), name="me"),
    path("keys", api.ApiKeyListCreateView.as_view(), name="apikey-list"),
    path("keys/<int:pk>/revoke", api.ApiKeyRevokeView.as_view(), name="apikey-revoke"),
]
