// The calendar's drag and drop (publishing/calendar.html): a pending post dropped on a free
// slot of its project takes that slot's time; dropped on a day, it keeps its time of day.
// The same move the "Move to" form makes without a mouse (publishing.views_calendar).
(function () {
  "use strict";
  function init() {
    var calendar = document.querySelector(".calendar");
    if (!calendar) return;
    var moveUrl = calendar.getAttribute("data-move-url");
    var status = document.getElementById("calendar-status");
    var dragged = null;

    function targets() {
      var project = dragged.getAttribute("data-project");
      return Array.prototype.filter.call(calendar.querySelectorAll(".calendar-slot, .calendar-day[data-day]"), function (el) {
        return !el.classList.contains("calendar-slot") || el.getAttribute("data-project") === project;
      });
    }
    function clear() {
      calendar.querySelectorAll(".drop-target, .drop-over, .dragging").forEach(function (el) {
        el.classList.remove("drop-target", "drop-over", "dragging");
      });
    }
    function move(task, fields) {
      var token = document.querySelector("#item-" + task + " input[name=csrfmiddlewaretoken]");
      var body = new FormData();
      body.append("csrfmiddlewaretoken", token ? token.value : "");
      Object.keys(fields).forEach(function (key) { body.append(key, fields[key]); });
      status.textContent = calendar.getAttribute("data-moving") || "…";
      fetch(moveUrl.replace(/\/0\/$/, "/" + task + "/"), {
        method: "POST", body: body, credentials: "same-origin", headers: {"Accept": "application/json"}
      }).then(function (response) {
        return response.json().then(function (answer) { return {ok: response.ok, answer: answer}; });
      }).then(function (result) {
        status.textContent = result.answer.message || "";
        if (result.ok) window.location.reload();
      }).catch(function () {
        status.textContent = calendar.getAttribute("data-failed") || "";
      });
    }

    calendar.addEventListener("dragstart", function (event) {
      var item = event.target.closest && event.target.closest(".calendar-item[draggable=true]");
      if (!item) return;
      dragged = item;
      item.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", item.getAttribute("data-task"));
      targets().forEach(function (el) { el.classList.add("drop-target"); });
    });
    calendar.addEventListener("dragend", function () { dragged = null; clear(); });
    function targetOf(event) {
      if (!dragged) return null;
      var slot = event.target.closest(".calendar-slot");
      if (slot && slot.classList.contains("drop-target")) return slot;
      var day = event.target.closest(".calendar-day[data-day]");
      return day && day.classList.contains("drop-target") ? day : null;
    }
    calendar.addEventListener("dragover", function (event) {
      var target = targetOf(event);
      if (!target) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      calendar.querySelectorAll(".drop-over").forEach(function (el) { if (el !== target) el.classList.remove("drop-over"); });
      target.classList.add("drop-over");
    });
    calendar.addEventListener("drop", function (event) {
      var target = targetOf(event);
      if (!target) return;
      event.preventDefault();
      var task = dragged.getAttribute("data-task");
      clear();
      if (target.classList.contains("calendar-slot")) move(task, {at: target.getAttribute("data-at")});
      else move(task, {day: target.getAttribute("data-day")});
      dragged = null;
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
