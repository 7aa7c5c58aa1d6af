// The composer's live counter and preview text. The count is X's own (twitter-text's
// parseTweet, vendored in ./vendor): links 23, CJK and emoji 2, limit 280. The server
// (publishing/x_text.py) applies the same rules when the form is sent; this only tells the
// writer early. No inline script: the CSP allows scripts from our static files only.
(function () {
  "use strict";

  function measure(text) {
    if (!text) return { weightedLength: 0, valid: true };
    var parsed = window.twitterText.parseTweet(text);
    return { weightedLength: parsed.weightedLength, valid: parsed.valid };
  }

  function drawText(target, text) {
    // Text nodes and <a> elements only: what the writer typed is never parsed as HTML.
    target.textContent = "";
    var at = 0;
    window.twitterText.extractUrlsWithIndices(text).forEach(function (found) {
      var start = found.indices[0], end = found.indices[1];
      if (start > at) target.appendChild(document.createTextNode(text.slice(at, start)));
      var link = document.createElement("a");
      link.href = /^https?:\/\//i.test(found.url) ? found.url : "https://" + found.url;
      link.rel = "nofollow noopener noreferrer";
      link.textContent = found.url;
      target.appendChild(link);
      at = end;
    });
    if (at < text.length) target.appendChild(document.createTextNode(text.slice(at)));
  }

  function update(form, area) {
    var index = area.getAttribute("data-count-for");
    var counted = measure(area.value);
    var counter = form.querySelector('[data-counter="' + index + '"]');
    if (counter) {
      counter.setAttribute("data-weighted", String(counted.weightedLength));
      counter.setAttribute("data-valid", counted.valid ? "1" : "0");
      counter.textContent = counted.weightedLength + " " + form.getAttribute("data-label-of") +
        (counted.valid ? "" : " · " + form.getAttribute("data-label-over"));
      counter.classList.toggle("over", !counted.valid);
    }
    area.setAttribute("aria-invalid", counted.valid ? "false" : "true");
    var post = document.querySelector('[data-preview-post="' + index + '"]');
    if (post) {
      var text = post.querySelector("[data-preview-text]");
      if (text) drawText(text, area.value);
      var count = post.querySelector("[data-preview-count]");
      if (count) {
        count.textContent = counted.weightedLength + " " + form.getAttribute("data-label-of");
        count.classList.toggle("over", !counted.valid);
      }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("composer");
    if (!form || !window.twitterText) return;
    form.querySelectorAll("textarea[data-count-for]").forEach(function (area) {
      area.addEventListener("input", function () { update(form, area); });
      update(form, area);
    });
  });
})();
