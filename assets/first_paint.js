// The dashboard's first paint (dashapp/ui/first_paint.py) is static HTML before Dash's entry
// point: the page down to the holdings (#first-paint), then the chart panels
// (#first-paint-panels). The renderer's tree is laid out behind them, invisible and inert.
// Each part leaves in the frame its real counterpart is drawn: the page once the grid shows
// every row the copy shows (or an empty state or message replaces it), the panels once the
// real panels are mounted; until then the panels move behind the entry point, where the real
// ones will be (they come last in the page). If the renderer never gets there, the real page
// shows anyway.
(function () {
  "use strict";
  var SHOW_ANYWAY_MS = 20000;
  // A grid whose rows differ from the copy's (the data changed meanwhile) counts as drawn
  // this long after its first row.
  var ROWS_SETTLE_MS = 1000;
  var OTHER_CONTENT = "#dashboard-body .alert, #empty-state, #empty-portfolio";

  var page = document.getElementById("first-paint");
  var panels = document.getElementById("first-paint-panels");
  if (!page && !panels) return;
  var rows = page ? Number(page.getAttribute("data-rows")) : 0;
  var firstRowAt = null;

  function gridDrawn(root) {
    if (root.querySelector(OTHER_CONTENT)) return true;
    if (!root.querySelector("#holdings-table .ag-row")) return false;
    if (firstRowAt === null) {
      firstRowAt = Date.now();
      setTimeout(check, ROWS_SETTLE_MS + 50);  // the grid may not change again
    }
    // The price cell's badge is drawn with its row's cells: every row has its cells.
    var badges = root.querySelectorAll("#holdings-table .ag-row .freshness").length;
    return badges >= rows || Date.now() - firstRowAt > ROWS_SETTLE_MS;
  }

  function isDashboard(root) {
    var content = root.querySelector("#page-content");
    if (!content || !content.firstElementChild) return null;  // not drawn yet
    return Boolean(root.querySelector("#dashboard-body"));
  }

  function showPage(root) {
    if (!page) return;
    root.removeAttribute("inert");
    page.remove();
    page = null;
    if (panels) root.after(panels);
  }

  function showPanels() {
    if (!panels) return;
    panels.remove();
    panels = null;
  }

  var observer;
  var timer;
  function check() {
    var root = document.getElementById("react-entry-point");
    if (!root) return;
    var dashboard = isDashboard(root);
    if (dashboard === null) return;
    if (!dashboard || gridDrawn(root)) showPage(root);
    if (!dashboard || root.querySelector("#dashboard-panels-slot > *")) showPanels();
    if (!page && !panels) {
      observer.disconnect();
      clearTimeout(timer);
    }
  }

  observer = new MutationObserver(check);
  observer.observe(document.body, { childList: true, subtree: true });
  timer = setTimeout(function () {
    observer.disconnect();
    var root = document.getElementById("react-entry-point");
    if (root) showPage(root);
    showPanels();
  }, SHOW_ANYWAY_MS);
})();
