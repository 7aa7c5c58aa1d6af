from django.http import HttpResponse
from django.urls import path

app_name = "analytics"

# Placeholder until the app's pages land.
urlpatterns = [path("", lambda request: HttpResponse("analytics: not built yet"), name="dashboard")]
