// The source page's live preview: the template as typed, rendered by the server against the
// source's latest item (the same code the scan runs), so what it shows is what gets queued.
(function () {
  "use strict";
  var form = document.getElementById("source-text");
  var preview = document.getElementById("template-preview");
  if (!form || !preview) return;
  var count = document.getElementById("template-count");
  var error = document.getElementById("template-error");
  var timer = null;
  var latest = 0;

  function refresh() {
    var asked = ++latest;
    var body = new FormData(form);
    fetch(form.dataset.previewUrl, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.json().then(function (data) { return [response.ok, data]; }); })
      .then(function (result) {
        if (asked !== latest) return; // an older answer that arrived late
        var ok = result[0], data = result[1];
        if (!ok) {
          var messages = [];
          Object.keys(data.errors || {}).forEach(function (key) { messages = messages.concat(data.errors[key]); });
          error.textContent = messages.join(" ");
          error.hidden = false;
          return;
        }
        error.hidden = true;
        preview.textContent = data.text;
        var parts = [data.weighted_length + " " + count.dataset.labelOf];
        if (data.shortened) parts.push(count.dataset.labelCut);
        if (!data.fits) parts.push(count.dataset.labelOver);
        count.textContent = parts.join(" · ");
        count.className = data.fits ? "muted" : "error";
      })
      .catch(function () { /* offline for a moment: the next keystroke tries again */ });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
