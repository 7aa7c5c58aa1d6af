// The message form: as the owner types, ask the server what will happen if they never answer
// (messaging.projection_views) and show its sentence. A file of its own, no inline script, so
// the Content-Security-Policy without 'unsafe-inline' holds. Without JavaScript the sentence
// rendered with the page stays, and the saved message's page shows the exact one.
(function () {
  "use strict";
  var WAIT_MS = 300;

  function value(form, name) {
    var field = form.elements.namedItem(name);
    return field && field.value ? field.value : "";
  }

  function query(form, box) {
    var params = new URLSearchParams();
    ["ladder", "ladder_steps", "ladder_unit", "initial_delay_months"].forEach(function (name) {
      params.append(name, value(form, name));
    });
    var message = box.getAttribute("data-message");
    if (message) { params.append("message", message); }
    var rows = form.querySelectorAll('input[name^="recipients-"][name$="-name"]');
    for (var i = 0; i < rows.length; i++) {
      var removed = form.elements.namedItem(rows[i].name.replace(/-name$/, "-DELETE"));
      if (rows[i].value.trim() && !(removed && removed.checked)) { params.append("names", rows[i].value); }
    }
    return params.toString();
  }

  function refresh(form, box) {
    fetch(box.getAttribute("data-projection-url") + "?" + query(form, box), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        box.textContent = data.sentence || data.error || "";
        box.classList.toggle("errorlist", !data.sentence);
      })
      .catch(function () { /* the last sentence stays */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("projection");
    var form = box && box.closest("form");
    if (!form) { return; }
    var timer = null;
    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { refresh(form, box); }, WAIT_MS);
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    refresh(form, box);
  });
})();
