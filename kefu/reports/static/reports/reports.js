// The reports page's charts: ECharts (shipped in static/reports/vendor, no CDN) draws the
// figures the page already shows as text; the tables stay for screen readers and no-JS.
(function () {
  "use strict";
  var source = document.getElementById("report-data");
  if (!source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var charts = [];

  function bars(id, rows, name) {
    var node = document.getElementById(id);
    if (!node || !rows.length) { if (node) node.hidden = true; return; }
    var chart = echarts.init(node, null, { renderer: "canvas" });
    chart.setOption({
      aria: { enabled: true },
      tooltip: { trigger: "axis", confine: true },
      grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return r.name; }),
               axisLabel: { width: 110, overflow: "truncate" } },
      series: [{ name: name, type: "bar", data: rows.map(function (r) { return r.value; }),
                 barMaxWidth: 28, label: { show: true, position: "right" }, itemStyle: { color: "#2563eb" } }]
    });
    charts.push(chart);
  }

  function sla(id, rows) {
    var node = document.getElementById(id);
    if (!node || !rows.length) { if (node) node.hidden = true; return; }
    var chart = echarts.init(node, null, { renderer: "canvas" });
    chart.setOption({
      aria: { enabled: true },
      tooltip: { trigger: "axis", confine: true },
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return r.name; }) },
      series: [
        { name: data.labels.met, type: "bar", stack: "sla", barMaxWidth: 28, itemStyle: { color: "#16a34a" },
          data: rows.map(function (r) { return r.met; }) },
        { name: data.labels.breached, type: "bar", stack: "sla", itemStyle: { color: "#dc2626" },
          data: rows.map(function (r) { return r.breached; }) }
      ]
    });
    charts.push(chart);
  }

  bars("chart-channel", data.by_channel, data.labels.tickets);
  bars("chart-category", data.by_category, data.labels.tickets);
  sla("chart-sla", data.sla);
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
