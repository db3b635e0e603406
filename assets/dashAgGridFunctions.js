// Value formatters for the holdings grid. A missing value is shown as a dash, never as zero.
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

var TWO_DECIMALS = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
var UP_TO_FOUR = new Intl.NumberFormat("en-US", { maximumFractionDigits: 4 });

function isNumber(value) {
  return typeof value === "number" && isFinite(value);
}

dagfuncs.twoDecimals = function (value) {
  return TWO_DECIMALS.format(value);
};

dagfuncs.formatMoney = function (value, symbol, signed) {
  if (!isNumber(value)) return "\u2014";
  var sign = value < 0 ? "-" : signed && value > 0 ? "+" : "";
  return sign + symbol + TWO_DECIMALS.format(Math.abs(value));
};

dagfuncs.formatPercent = function (value, signed) {
  if (!isNumber(value)) return "\u2014";
  var sign = signed && value > 0 ? "+" : "";
  return sign + TWO_DECIMALS.format(value * 100) + "%";
};

dagfuncs.formatQuantity = function (value) {
  if (!isNumber(value)) return "\u2014";
  return UP_TO_FOUR.format(value);
};

dagfuncs.changeStyle = function (value) {
  if (!isNumber(value) || value === 0) return null;
  return { color: value > 0 ? "var(--bs-success)" : "var(--bs-danger)" };
};
