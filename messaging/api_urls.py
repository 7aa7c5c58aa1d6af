from django.urls import re_path
from rest_framework.routers import SimpleRouter

from messaging.api import CheckinView, MessageViewSet
from messaging.attachment_api import AttachmentDetailView, AttachmentListView
from messaging.owner_contact_api import OwnerContactViewSet
from messaging.pause_api import PauseViewSet
from messaging.trusted_api import AccessRequestViewSet, TrustedAccessView, TrustedContactViewSet

router = SimpleRouter()
# The other apps' routes have no trailing slash; these answer with and without one, so
# neither form of a POST is lost (APPEND_SLASH cannot redirect a POST). DRF's own
# ``trailing_slash`` argument is a boolean, hence the attribute.
router.trailing_slash = "/?"
router.register("messages", MessageViewSet, basename="messaging-message")
router.register("pauses", PauseViewSet, basename="messaging-pause")
router.register("owner-contacts", OwnerContactViewSet, basename="messaging-owner-contact")
router.register("trusted-contacts", TrustedContactViewSet, basename="messaging-trusted-contact")
router.register("access-requests", AccessRequestViewSet, basename="messaging-access-request")

urlpatterns = [
    re_path(r"^checkin/?$", CheckinView.as_view(), name="checkin"),
    re_path(
        r"^messages/(?P<pk>[0-9]{1,18})/attachments/?$", AttachmentListView.as_view(), name="messaging-attachment-list"
    ),
    re_path(
        r"^messages/(?P<pk>[0-9]{1,18})/attachments/(?P<attachment_id>[0-9]{1,18})/?$",
        AttachmentDetailView.as_view(),
        name="messaging-attachment-detail",
    ),
    re_path(
        r"^messages/(?P<pk>[0-9]{1,18})/trusted-access/?$", TrustedAccessView.as_view(), name="messaging-trusted-access"
    ),
    *router.urls,
]
