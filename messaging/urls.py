from django.http import HttpResponse
from django.urls import path

app_name = "messaging"

# Placeholder until the app's pages land.
urlpatterns = [path("", lambda request: HttpResponse("messaging: not built yet"), name="message_list")]
