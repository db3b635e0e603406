// Accessibility repairs for Dash 4's own components, applied to every page as they render.
//
// axe-core (tests/browser/test_accessibility_browser.py) finds four faults that no prop of
// the components turns off:
// - dcc.Dropdown puts a focusable "focus target" input, marked aria-hidden, before its button
//   (which has tabindex -1) and forwards focus from one to the other: keyboard users land on a
//   hidden element. Here the button itself takes focus (its own key handlers open the list on
//   Enter or ArrowDown) and the hidden input leaves the tab order.
// - The dropdown's button is named only by its selected values; a page that gives the
//   dropdown a visible label with the id "<dropdown id>-label" has that label named first,
//   followed by the button's own visible content.
// - dcc.DatePickerRange's wrapper div carries aria-haspopup and aria-expanded without a role
//   that allows them; its two inputs are labelled on their own, so the wrapper's are dropped.
// - dcc.Upload's file input has no name; it takes the upload area's visible text.
// The page's language is declared for screen readers (Dash's index page has no lang).
(function () {
  "use strict";
  var WRAPPER_ARIA = ["aria-haspopup", "aria-expanded", "aria-labelledby"];

  function repairDropdown(target) {
    if (target.getAttribute("tabindex") !== "-1") target.setAttribute("tabindex", "-1");
    var button = target.nextElementSibling;
    if (!button || !button.id) return;
    if (button.getAttribute("tabindex") !== "0") button.setAttribute("tabindex", "0");
    var label = document.getElementById(button.id + "-label");
    if (label) {
      // The label, then the button's own content (its values as shown): a name that holds
      // the visible text, as speech input users say what they see.
      var named = label.id + " " + button.id;
      if (button.getAttribute("aria-labelledby") !== named) {
        button.setAttribute("aria-labelledby", named);
      }
    }
  }

  // dcc.Upload's file input has no label of its own: it is named by the upload area's text.
  function repairUpload(input) {
    if (input.hasAttribute("aria-label")) return;
    var area = input.parentElement;
    var text = area ? area.innerText.trim() : "";
    input.setAttribute("aria-label", text || "Choose a file");
  }

  function repairDatePicker(wrapper) {
    WRAPPER_ARIA.forEach(function (name) {
      if (wrapper.hasAttribute(name)) wrapper.removeAttribute(name);
    });
  }

  function repair(root) {
    if (!root.querySelectorAll) return;
    root.querySelectorAll(".dash-dropdown-focus-target").forEach(repairDropdown);
    root.querySelectorAll(".dash-datepicker-input-wrapper").forEach(repairDatePicker);
    root.querySelectorAll("input[type=file]").forEach(repairUpload);
  }

  function start() {
    document.documentElement.lang = document.documentElement.lang || "en";
    repair(document);
    // One pass per batch of changes: a document-wide query is cheap next to what React did.
    new MutationObserver(function (changes) {
      var added = changes.some(function (change) {
        return change.type === "attributes" || change.addedNodes.length > 0;
      });
      if (added) repair(document);
    }).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["tabindex", "aria-expanded", "aria-haspopup", "aria-labelledby"],
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
