// Accessible names Django's admin leaves out (found by axe-core in the browser tests):
// - a date-and-time field is two inputs under one <label>, so the time input has no name;
// - an inline table that scrolls sideways must be reachable by keyboard to be scrolled.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("p.datetime").forEach(function (box) {
    var row = box.closest(".form-row, .fieldBox, td");
    var label = row && row.querySelector("label");
    var name = label ? label.textContent.replace(/:\s*$/, "").trim() : "";
    box.querySelectorAll("input").forEach(function (input) {
      var part = input.classList.contains("vTimeField") ? box.dataset.timeLabel || "time" : box.dataset.dateLabel || "date";
      if (!input.getAttribute("aria-label")) input.setAttribute("aria-label", name ? name + " (" + part + ")" : part);
    });
  });
  document.querySelectorAll(".inline-group, .tabular").forEach(function (group) {
    if (group.scrollWidth > group.clientWidth && !group.hasAttribute("tabindex")) {
      group.setAttribute("tabindex", "0");
      if (!group.getAttribute("aria-label")) {
        var heading = group.querySelector("h2");
        if (heading) group.setAttribute("aria-label", heading.textContent.trim());
      }
    }
  });
});
