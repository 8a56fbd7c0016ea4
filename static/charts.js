// Draws the charts of the statistics page and the home page from the JSON in <script id="chart-data">.
// Each chart is drawn only when its element and its data are on the page.
// The tables on the page hold the same figures: without JavaScript (or ECharts) nothing is lost.
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  var section = document.getElementById("charts");
  if (!source || !section || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  section.hidden = false;

  function bars(elementId, categories, series, horizontal) {
    var element = document.getElementById(elementId);
    if (!element) {
      return;
    }
    var chart = echarts.init(element);
    var valueAxis = { type: "value", minInterval: 1 };
    // Long names (rounds, units) are all labelled, wrapped within their own slot instead of skipped;
    // short ones (months) keep ECharts' own spacing.
    var longNames = categories.some(function (c) { return String(c).length > 8; });
    var slot = horizontal ? 160 : Math.max(40, element.clientWidth / Math.max(1, categories.length) - 12);
    var categoryAxis = { type: "category", data: categories };
    if (longNames) {
      categoryAxis.axisLabel = { interval: 0, width: slot, overflow: horizontal ? "truncate" : "break" };
    }
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      // The legend goes above the plot so that it never covers the axis labels.
      legend: series.length > 1 ? { top: 0, type: "scroll" } : undefined,
      grid: { containLabel: true, left: 8, right: 16, bottom: 8, top: series.length > 1 ? 40 : 16 },
      xAxis: horizontal ? valueAxis : categoryAxis,
      yAxis: horizontal ? Object.assign({ inverse: true }, categoryAxis) : valueAxis,
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  // State by round: one stacked bar per round, a segment per state.
  if (data.rounds && data.states) {
    bars("chart-states", data.rounds.map(function (r) { return r.name; }),
      data.states.map(function (label, i) {
        return { name: label, type: "bar", stack: "state",
                 data: data.rounds.map(function (r) { return r.by_state[i]; }) };
      }), false);
  }

  // Overdue by lead unit, most overdue first.
  if (data.units) {
    var units = data.units.slice().sort(function (a, b) { return b.overdue - a.overdue; });
    bars("chart-overdue", units.map(function (u) { return u.name; }),
      [{ name: "逾期问题", type: "bar", color: "#dc3545", data: units.map(function (u) { return u.overdue; }) }],
      true);
  }

  // Issues closed per month, oldest month first.
  if (data.closures) {
    bars("chart-closures", data.closures.map(function (c) { return c.month; }),
      [{ name: "销号数", type: "bar", color: "#198754", data: data.closures.map(function (c) { return c.closed; }) }],
      false);
  }

  // Unit scorecard: scores in the page's (ranked) order.
  if (data.scores) {
    bars("chart-scores", data.scores.map(function (u) { return u.name; }),
      [{ name: "得分", type: "bar", color: "#0d6efd", data: data.scores.map(function (u) { return u.score; }) }],
      true);
  }
}());
