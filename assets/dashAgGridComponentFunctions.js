// Cell renderers for the holdings grid. React renders strings as text, so nothing a user typed
// can become markup here.
var dagcomponentfuncs = (window.dashAgGridComponentFunctions =
  window.dashAgGridComponentFunctions || {});

var BADGE_COLORS = { fresh: "success", cached: "info", stale: "warning", missing: "secondary" };

dagcomponentfuncs.PriceWithBadge = function (props) {
  var row = props.data;
  var symbol = (props.colDef.cellRendererParams || {}).currency || "$";
  var hasPrice = typeof props.value === "number" && isFinite(props.value);
  var text = hasPrice ? symbol + window.dashAgGridFunctions.twoDecimals(props.value) : "no price";
  return React.createElement("span", null, [
    React.createElement("span", { key: "price" }, text),
    React.createElement(
      "span",
      {
        key: "badge",
        className:
          "badge rounded-pill ms-1 freshness freshness-" +
          row.freshness +
          " text-bg-" +
          (BADGE_COLORS[row.freshness] || "secondary"),
        title: row.freshness_title,
      },
      row.freshness
    ),
  ]);
};
