from rest_framework.routers import SimpleRouter

from messaging.api import MessageViewSet

router = SimpleRouter()
# The other apps' routes have no trailing slash; these answer with and without one, so
# neither form of a POST is lost (APPEND_SLASH cannot redirect a POST). DRF's own
# ``trailing_slash`` argument is a boolean, hence the attribute.
router.trailing_slash = "/?"
router.register("messages", MessageViewSet, basename="messaging-message")

urlpatterns = router.urls
