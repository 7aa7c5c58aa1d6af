"""DRF's throttles, counting anonymous callers per client address as ``cradle_site.ratelimit`` finds it.

DRF's own ``get_ident`` reads ``X-Forwarded-For`` by its ``NUM_PROXIES`` rule (the leftmost
entry when there are fewer than expected, which a client writes); this is the site's one
``client_ip``. Apart from ``cradle_site.api`` because DRF imports these while importing its
views, which ``cradle_site.api`` itself imports.
"""

from rest_framework import throttling

from cradle_site import ratelimit


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_ident(self, request) -> str:
        return ratelimit.request_address(request)


class UserRateThrottle(throttling.UserRateThrottle):
    def get_ident(self, request) -> str:
        return ratelimit.request_address(request)
