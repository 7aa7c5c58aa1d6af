from django.conf import settings
from django.contrib import admin
from django.utils import timezone

from cradle_site.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "last_beat", "is_stale", "beats")
    readonly_fields = ("name", "last_beat", "beats")

    @admin.display(boolean=True, description="stale")
    def is_stale(self, obj: Heartbeat) -> bool:
        return (timezone.now() - obj.last_beat).total_seconds() > settings.CRADLE_HEARTBEAT_STALE_SECONDS

    def has_add_permission(self, request) -> bool:
        return False
