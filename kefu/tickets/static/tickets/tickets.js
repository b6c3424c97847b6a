/* The agent workspace's lists and ticket view (templates/tickets/workspace_*.html): selecting rows
   for a bulk change, and who else has the ticket open. No inline script: the CSP allows none. */
(function () {
  "use strict";

  function bulk() {
    var form = document.getElementById("bulk-form");
    if (!form) { return; }
    var all = document.getElementById("bulk-all");
    var count = form.querySelector(".bulk-count");
    var boxes = function () { return form.querySelectorAll("input[name=case]"); };
    var update = function () {
      var picked = 0;
      boxes().forEach(function (box) { if (box.checked) { picked += 1; } });
      if (count) { count.textContent = picked ? picked + " " + count.dataset.some : count.dataset.none; }
      if (all) { all.checked = picked > 0 && picked === boxes().length; all.indeterminate = picked > 0 && picked < boxes().length; }
    };
    if (all) {
      all.addEventListener("change", function () {
        boxes().forEach(function (box) { box.checked = all.checked; });
        update();
      });
    }
    form.addEventListener("change", function (event) { if (event.target.name === "case") { update(); } });
    update();
  }

  // Collision detection: a heartbeat every few seconds, at once when typing starts or stops.
  function viewers() {
    var line = document.getElementById("viewers");
    if (!line || !line.dataset.url) { return; }
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    var box = document.querySelector("#agent-reply textarea[name=body]");
    var every = (parseInt(line.dataset.every, 10) || 10) * 1000;
    var typing = false, lastKey = 0, timer = null;

    var show = function (list) {
      var viewing = [], writing = [];
      list.forEach(function (v) { (v.typing ? writing : viewing).push(v.name); });
      var parts = [];
      if (writing.length) { parts.push(line.dataset.typing.replace("{names}", writing.join("、"))); }
      if (viewing.length) { parts.push(line.dataset.viewing.replace("{names}", viewing.join("、"))); }
      line.textContent = parts.join(" · ");
      line.hidden = !parts.length;
    };
    var beat = function (extra) {
      var body = new URLSearchParams();
      body.set("typing", typing ? "1" : "0");
      if (extra) { body.set(extra, "1"); }
      return fetch(line.dataset.url, {
        method: "POST", credentials: "same-origin", keepalive: !!extra,
        headers: {"X-CSRFToken": token ? token.value : "", "Content-Type": "application/x-www-form-urlencoded"},
        body: body.toString()
      }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && !extra) { show(data.viewers || []); } })
        .catch(function () {});
    };
    var schedule = function () { clearTimeout(timer); timer = setTimeout(function () { beat().then(schedule); }, every); };
    if (box) {
      box.addEventListener("input", function () {
        lastKey = Date.now();
        if (!typing) { typing = true; beat(); }
      });
      // Typing stops a few seconds after the last key.
      setInterval(function () { if (typing && Date.now() - lastKey > 5000) { typing = false; beat(); } }, 1000);
    }
    window.addEventListener("pagehide", function () { beat("leave"); });
    schedule();
  }

  function init() { bulk(); viewers(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
