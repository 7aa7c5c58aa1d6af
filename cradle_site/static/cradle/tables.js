// On narrow screens cradle.css stacks table rows into cards; each cell then needs its
// column's heading beside it. A static file rather than inline script, so a strict
// Content-Security-Policy (no 'unsafe-inline') allows it.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("main table").forEach(function (table) {
    var headings = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        // An empty cell (no actions on this row, say) would show its heading over nothing.
        if (!cell.textContent.trim() && !cell.querySelector("input, select, button, img, svg")) {
          cell.classList.add("empty-cell");
        } else if (headings[i] && cell.colSpan === 1) {
          cell.setAttribute("data-label", headings[i]);
        }
      });
    });
  });
});
