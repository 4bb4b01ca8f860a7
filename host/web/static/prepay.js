// Prepay web console: charts (uPlot) from each .chart element's data-chart, and print buttons.
// No inline script anywhere, so the pages can forbid it (Content-Security-Policy).
(function () {
  "use strict";
  var COLOURS = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280"];

  function draw(el) {
    if (el.dataset.drawn) return;
    var data = JSON.parse(el.dataset.chart);
    var scale = el.dataset.kind === "money" ? 100 : 10;   // integers from the server: cents or tenths
    var labels = data.labels || null;
    var x = data.x.map(function (v, i) { return labels ? i : v; });
    var series = [{}], columns = [x];
    data.series.forEach(function (s, i) {
      series.push({label: s[0], stroke: COLOURS[i % COLOURS.length], width: 2,
                   fill: COLOURS[i % COLOURS.length] + "33", points: {show: true}});
      columns.push(s[1].map(function (v) { return v / scale; }));
    });
    var opts = {
      width: Math.max(280, el.clientWidth || 600), height: 220, series: series,
      scales: {x: {time: !labels}},
      axes: [labels ? {values: function (u, ticks) { return ticks.map(function (t) { return labels[t] || ""; }); }} : {}, {}]
    };
    el.dataset.drawn = "1";
    new uPlot(opts, columns, el);
  }

  function drawAll() {
    if (typeof uPlot === "undefined") return;
    document.querySelectorAll(".chart[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:afterSwap", drawAll);
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });
})();
