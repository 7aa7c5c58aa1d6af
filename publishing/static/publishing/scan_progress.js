// The project page: while a scan is queued or running, poll its status (JSON) every two
// seconds and show it; when every scan has finished, reload once for the new counts.
// A file of its own, no inline script, so a Content-Security-Policy without 'unsafe-inline' holds.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var WAITING = { queued: true, running: true };

  function poll(badge) {
    fetch(badge.getAttribute("data-scan-status-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        badge.textContent = data.label;
        badge.className = "scan-status badge " + data.status;
        badge.setAttribute("data-scan-status", data.status);
        if (WAITING[data.status]) {
          window.setTimeout(function () { poll(badge); }, POLL_MS);
        } else if (!document.querySelector('[data-scan-status="queued"], [data-scan-status="running"]')) {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(function () { poll(badge); }, POLL_MS * 5); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var badges = document.querySelectorAll("[data-scan-status-url]");
    for (var i = 0; i < badges.length; i++) {
      if (WAITING[badges[i].getAttribute("data-scan-status")]) {
        window.setTimeout(poll.bind(null, badges[i]), POLL_MS);
      }
    }
  });
})();
