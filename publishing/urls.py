from django.http import HttpResponse
from django.urls import path

app_name = "publishing"

# Placeholder until the app's pages land.
urlpatterns = [path("", lambda request: HttpResponse("publishing: not built yet"), name="project_list")]
