"""Tell drf-spectacular how API keys authenticate, so the docs offer an "Authorize" box."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "crd_<prefix>_<secret>",
            "description": "An API key from Account → API keys.",
        }
