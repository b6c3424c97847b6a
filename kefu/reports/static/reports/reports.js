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

// Family pages: every panel's chart from the generic result contract (kefu/reports/metrics.py):
// x = the first column, one series per numeric column; "bar" horizontal bars, "column"
// vertical bars, "stacked" stacked horizontal bars, "line" a time line with date-range marks.
(function () {
  "use strict";
  var source = document.getElementById("report-panels");
  if (!source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var colours = ["#2563eb", "#f59e0b", "#16a34a", "#dc2626", "#7c3aed", "#0891b2"];
  var charts = [];

  function axisName(series) {
    var units = series.map(function (s) { return s.unit; });
    if (units.indexOf("seconds") >= 0) return data.labels.minutes;
    if (units.indexOf("percent") >= 0 && units.every(function (u) { return u === "percent"; })) return data.labels.percent;
    return "";
  }

  data.panels.forEach(function (panel) {
    var node = document.getElementById(panel.id);
    if (!node) return;
    // Percentages share a chart with counts badly: draw the counts, the table has the rest.
    var series = panel.series.filter(function (s) { return s.unit !== "percent" || panel.series.length === 1; });
    var horizontal = panel.kind === "bar" || panel.kind === "stacked";
    var category = { type: "category", data: panel.x, axisLabel: { width: 110, overflow: "truncate", hideOverlap: true } };
    var value = { type: "value", name: axisName(series), minInterval: series.every(function (s) { return s.unit === "count"; }) ? 1 : 0 };
    if (horizontal) category.inverse = true;
    var option = {
      aria: { enabled: true },
      color: colours,
      tooltip: { trigger: "axis", confine: true },
      legend: { top: 0, show: series.length > 1 },
      grid: { left: 8, right: 16, top: series.length > 1 ? 32 : 16, bottom: 8, containLabel: true },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: series.map(function (s) {
        return {
          name: s.name, type: panel.kind === "line" ? "line" : "bar", data: s.data, barMaxWidth: 28,
          stack: panel.kind === "stacked" ? "total" : undefined, showSymbol: panel.x.length < 40
        };
      })
    };
    if (panel.kind === "line" && panel.marks.length && option.series.length) {
      option.series[0].markArea = {
        silent: false, itemStyle: { color: "rgba(220, 38, 38, 0.12)" },
        label: { show: true, position: "insideTop", fontSize: 10 },
        data: panel.marks.map(function (m) { return [{ name: m.name, xAxis: m.start }, { xAxis: m.end }]; })
      };
      option.series[0].markLine = {
        symbol: "none", lineStyle: { color: "#dc2626", type: "dashed" }, label: { show: false },
        data: panel.marks.map(function (m) { return { name: m.name, xAxis: m.start }; })
      };
    }
    var chart = echarts.init(node, null, { renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
