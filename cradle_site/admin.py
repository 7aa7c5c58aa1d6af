from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cradle_site.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "last_beat", "is_stale", "beats")
    readonly_fields = ("name", "last_beat", "beats")

    @admin.display(boolean=True, description=gettext_lazy("stale"))
    def is_stale(self, obj: Heartbeat) -> bool:
        return (timezone.now() - obj.last_beat).total_seconds() > settings.CRADLE_HEARTBEAT_STALE_SECONDS

    def has_add_permission(self, request) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        # Where staff look when /healthz?strict=1 pages them: say which deliveries need a person.
        from messaging.models import Delivery  # the site layer asks; messaging knows

        count = Delivery.objects.needing_staff().count()
        if count:
            url = reverse("admin:messaging_delivery_changelist") + "?needs_staff=any"
            self.message_user(
                request,
                _("%(n)d delivery(ies) need staff (refused for good, or not sent in time): %(url)s")
                % {"n": count, "url": url},
                messages.ERROR,
            )
        return super().changelist_view(request, extra_context)
