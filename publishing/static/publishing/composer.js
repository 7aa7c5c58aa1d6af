// The composer's live counters and preview text, one counter and one preview per chosen
// network. The server (publishing/networks.py) applies the same rules when the form is
// sent; this only tells the writer early. No inline script: the CSP allows scripts from
// our static files only.
//
// - X: twitter-text's own parseTweet (vendored in ./vendor): links 23, CJK and emoji 2, 280.
// - Mastodon: extended grapheme clusters (Intl.Segmenter) of the text with every
//   http(s):// link counted as the instance's URL weight (23) and a remote mention
//   @user@domain counted as @user; the instance's own limit.
// - Bluesky: extended grapheme clusters, 300 of them, and at most 3,000 UTF-8 bytes.
(function () {
  "use strict";

  var segmenter = window.Intl && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;
  // Python's regex \w (publishing/networks.py's _MASTODON_MENTION), spelled for JavaScript.
  var W = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
  var MENTION = new RegExp("(?<![=/" + W + "])@([" + W + "]+)(?:@[" + W + ".\\-]+[" + W + "])?", "gu");
  var BLUESKY_MAX_BYTES = 3000;

  function graphemes(text) {
    if (!text) return 0;
    if (!segmenter) return Array.from(text).length;  // code points: close, and the server decides
    var n = 0;
    for (var it = segmenter.segment(text)[Symbol.iterator](), step = it.next(); !step.done; step = it.next()) n++;
    return n;
  }

  function mastodonLength(text, urlWeight) {
    var pieces = [], at = 0;
    window.twitterText.extractUrlsWithIndices(text).forEach(function (found) {
      if (!/^https?:\/\//i.test(found.url)) return;  // Mastodon links only URLs with a scheme
      pieces.push(text.slice(at, found.indices[0]));
      pieces.push("x".repeat(urlWeight));
      at = found.indices[1];
    });
    pieces.push(text.slice(at));
    return graphemes(pieces.join("").replace(MENTION, function (_m, user) { return "@" + user; }));
  }

  // {length, limit, valid} of ``text`` on ``network``; ``el`` carries the account's limits.
  function measure(network, text, el) {
    if (network === "x") {
      if (!text) return { length: 0, limit: 280, valid: true };
      var parsed = window.twitterText.parseTweet(text);
      return { length: parsed.weightedLength, limit: 280, valid: parsed.valid };
    }
    var limit = parseInt(el.getAttribute("data-net-limit"), 10) || (network === "bluesky" ? 300 : 500);
    if (!text) return { length: 0, limit: limit, valid: true };
    if (network === "mastodon") {
      var length = mastodonLength(text, parseInt(el.getAttribute("data-url-weight"), 10) || 23);
      var spoiler = document.getElementById("id_spoiler_text");
      if (spoiler && spoiler.value.trim()) length += graphemes(spoiler.value.trim());  // the warning counts too
      return { length: length, limit: limit, valid: length <= limit };
    }
    var counted = graphemes(text);
    var bytes = new TextEncoder().encode(text).length;
    return { length: counted, limit: limit, valid: counted <= limit && bytes <= BLUESKY_MAX_BYTES };
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

  function label(form, counted, name) {
    var shown = form.getAttribute("data-label-count").replace("{n}", counted.length).replace("{limit}", counted.limit);
    if (name) shown = name + ": " + shown;
    if (!counted.valid) {
      shown += " · " + (name ? form.getAttribute("data-label-net-over").replace("{network}", name)
                             : form.getAttribute("data-label-over"));
    }
    return shown;
  }

  function paint(counter, counted, text) {
    counter.setAttribute("data-weighted", String(counted.length));
    counter.setAttribute("data-valid", counted.valid ? "1" : "0");
    counter.textContent = text;
    counter.classList.toggle("over", !counted.valid);
  }

  function update(form, area) {
    var index = area.getAttribute("data-count-for");
    var anyOver = false;
    // The main counter: X's, or the edited copy's own network.
    var main = form.querySelector('[data-counter="' + index + '"]');
    var counts = {};
    if (main) {
      var network = form.getAttribute("data-network") || "x";
      var counted = measure(network, area.value, form);
      paint(main, counted, label(form, counted, ""));
      counts[main.getAttribute("data-counter-target")] = counted;
      if (!main.hidden && !counted.valid) anyOver = true;
    }
    form.querySelectorAll('[data-net-counter="' + index + '"]').forEach(function (counter) {
      var counted = measure(counter.getAttribute("data-network"), area.value, counter);
      paint(counter, counted, label(form, counted, counter.getAttribute("data-name")));
      counts[counter.getAttribute("data-counter-target")] = counted;
      if (!counter.hidden && !counted.valid) anyOver = true;
    });
    area.setAttribute("aria-invalid", anyOver ? "true" : "false");
    document.querySelectorAll("[data-preview-target]").forEach(function (box) {
      var counted = counts[box.getAttribute("data-preview-target")];
      var post = box.querySelector('[data-preview-post="' + index + '"]');
      if (!post) return;
      var text = post.querySelector("[data-preview-text]");
      if (text) drawText(text, area.value);
      var count = post.querySelector("[data-preview-count]");
      if (count && counted) {
        count.textContent = label(form, counted, "");
        count.classList.toggle("over", !counted.valid);
      }
    });
  }

  // Show the counters, previews and Mastodon options of the ticked networks of the chosen project.
  function choose(form) {
    var project = form.querySelector("#id_project");
    var chosen = {}, mastodon = false;
    form.querySelectorAll(".network-choice").forEach(function (choice) {
      var box = choice.querySelector("input[type=checkbox]");
      var mine = !choice.hasAttribute("data-project") || !project || choice.getAttribute("data-project") === project.value;
      choice.hidden = !mine;
      if (!mine) box.checked = false;
      if (box.checked) {
        chosen[box.getAttribute("data-target")] = true;
        if (box.getAttribute("data-network") === "mastodon") mastodon = true;
      }
    });
    if (!form.querySelector(".network-choice")) {  // editing one copy: its own network only
      var main = form.querySelector("[data-counter]");
      if (main) chosen[main.getAttribute("data-counter-target")] = true;
    }
    form.querySelectorAll("[data-counter-target]").forEach(function (counter) {
      if (form.querySelector(".network-choice")) counter.hidden = !chosen[counter.getAttribute("data-counter-target")];
    });
    document.querySelectorAll("[data-preview-target]").forEach(function (box) {
      box.hidden = !chosen[box.getAttribute("data-preview-target")];
    });
    var options = form.querySelector(".mastodon-options");
    if (options) options.hidden = !mastodon;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("composer");
    if (!form || !window.twitterText) return;
    var areas = form.querySelectorAll("textarea[data-count-for]");
    function all() { areas.forEach(function (area) { update(form, area); }); }
    areas.forEach(function (area) {
      area.addEventListener("input", function () { update(form, area); });
    });
    form.querySelectorAll(".network-choice input, #id_project").forEach(function (input) {
      input.addEventListener("change", function () { choose(form); all(); });
    });
    var spoiler = document.getElementById("id_spoiler_text");
    if (spoiler) spoiler.addEventListener("input", all);
    choose(form);
    all();
  });
})();
