/* incidentkb training path: tick steps off, kept in this browser only (localStorage), no server, no network.
   The key holds the path of the training index, so two sites (or two copies of one) on the same origin
   keep separate progress. Without JavaScript the checkboxes stay hidden and the path still works. */
(function () {
  "use strict";
  function init() {
    var anchor = document.querySelector("[data-kb-training]");
    if (!anchor || anchor.hasAttribute("data-kb-ready")) { return; }
    var key = "incidentkb:training:" + new URL(anchor.getAttribute("data-kb-training"), location.href).pathname;
    function load() {
      try { var value = JSON.parse(window.localStorage.getItem(key) || "{}"); return value && typeof value === "object" ? value : {}; }
      catch (error) { return {}; }
    }
    function save(state) {
      try { window.localStorage.setItem(key, JSON.stringify(state)); } catch (error) { /* private mode or full: ticking still works on this page */ }
    }
    var state = load();
    var boxes = Array.prototype.slice.call(document.querySelectorAll("input.kb-progress[data-step]"));
    function refresh() {
      var done = boxes.filter(function (box) { return box.checked; }).length;
      var count = document.querySelector("[data-kb-done]");
      if (count) { count.textContent = String(done); }
      var next = boxes.filter(function (box) { return !box.checked; })[0];
      var resume = document.querySelector("[data-kb-continue]");
      if (resume && next && next.parentNode.nextElementSibling) { resume.href = next.parentNode.nextElementSibling.href; }
      if (resume) { resume.hidden = !next; }
    }
    boxes.forEach(function (box) {
      box.checked = !!state[box.getAttribute("data-step")];
      box.disabled = false;
      var item = box.closest(".kb-progress-item");
      if (item) { item.hidden = false; }
      box.addEventListener("change", function () {
        state = load();
        if (box.checked) { state[box.getAttribute("data-step")] = 1; } else { delete state[box.getAttribute("data-step")]; }
        save(state);
        refresh();
      });
    });
    var summary = document.querySelector(".kb-progress-summary");
    if (summary) { summary.hidden = false; }
    var reset = document.querySelector("[data-kb-reset]");
    if (reset) {
      reset.addEventListener("click", function () {
        state = {};
        save(state);
        boxes.forEach(function (box) { box.checked = false; });
        refresh();
      });
    }
    anchor.setAttribute("data-kb-ready", "");
    refresh();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
  if (window.document$ && typeof window.document$.subscribe === "function") { window.document$.subscribe(init); }
})();
