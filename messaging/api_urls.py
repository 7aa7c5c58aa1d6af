from rest_framework.routers import SimpleRouter

from messaging.api import MessageViewSet

router = SimpleRouter()
router.register("messages", MessageViewSet, basename="messaging-message")

urlpatterns = router.urls
