/* incidentkb: a table wider than the page scrolls sideways in its wrapper. A keyboard user can
   only scroll what can take the focus (WCAG 2.1.1), so every wrapper that overflows becomes
   focusable, and is named for screen readers. Runs on each page load, also with Material's
   instant navigation (document$), and again when the window is resized. */
(function () {
  "use strict";
  var WRAPPERS = ".md-typeset .md-typeset__scrollwrap, .md-typeset div.kb-table";

  function markScrollable() {
    document.querySelectorAll(WRAPPERS).forEach(function (wrapper) {
      var scrolls = /^(auto|scroll)$/.test(window.getComputedStyle(wrapper).overflowX);
      if (scrolls && wrapper.scrollWidth > wrapper.clientWidth + 1) {
        wrapper.tabIndex = 0;
        wrapper.setAttribute("role", "region");
        if (!wrapper.hasAttribute("aria-label")) {
          var caption = wrapper.querySelector("caption");
          wrapper.setAttribute("aria-label", caption ? caption.textContent.trim() : "Table (scrolls sideways)");
        }
      } else if (wrapper.getAttribute("tabindex") === "0") {
        wrapper.removeAttribute("tabindex");
        wrapper.removeAttribute("role");
        wrapper.removeAttribute("aria-label");
      }
    });
  }

  // After Material has wrapped the tables of the new page (its own subscribers run first).
  function later() { window.setTimeout(markScrollable, 0); }
  if (typeof window.document$ !== "undefined" && window.document$.subscribe) {
    window.document$.subscribe(later);
  } else {
    document.addEventListener("DOMContentLoaded", later);
  }
  var pending = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(markScrollable, 150);
  });
})();
