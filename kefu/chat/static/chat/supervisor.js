/* The supervisor's live view: the dashboard frame of /ws/chat/agent/ re-renders the tables;
   reassigning goes over the same socket (the forms still work without JavaScript). */
(function () {
  "use strict";
  var root = document.getElementById("supervisor");
  if (!root) return;
  var t = JSON.parse(root.dataset.i18n);
  var agents = JSON.parse(document.getElementById("sv-agents-data").textContent);
  var ws = null;
  var failures = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function cell(row, value, cls) { row.appendChild(el("td", cls || "", value === null || value === undefined ? "—" : String(value))); }

  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.ws);
    // The dashboard comes in the page's language (names, statuses, durations).
    ws.onopen = function () { failures = 0; ws.send(JSON.stringify({ type: "dashboard", language: document.documentElement.lang })); };
    ws.onmessage = function (e) {
      var f = JSON.parse(e.data);
      if (f.type === "dashboard") render(f);
    };
    ws.onclose = function (e) {
      if (e.code === 4403) return;
      if (e.code === 4401) { location.reload(); return; }  // signed out: the page asks to sign in
      failures += 1;
      setTimeout(connect, Math.min(15000, 500 * Math.pow(2, Math.min(failures, 5))));
    };
  }

  function render(d) {
    var teams = document.querySelector("#sv-teams tbody");
    teams.textContent = "";
    d.teams.forEach(function (tm) {
      var r = el("tr");
      cell(r, tm.name);
      [tm.waiting, tm.longest_wait, tm.next_eta, tm.agents_online, tm.slots, tm.active, tm.handle_time]
        .forEach(function (v) { cell(r, v, "num"); });
      teams.appendChild(r);
    });
    var rows = document.querySelector("#sv-agents tbody");
    rows.textContent = "";
    d.agents.forEach(function (a) {
      var r = el("tr");
      cell(r, a.name);
      var s = el("td");
      s.appendChild(el("span", "status status-" + a.status, a.status_label));
      r.appendChild(s);
      [a.active, a.capacity, a.since_last_chat].forEach(function (v) { cell(r, v, "num"); });
      rows.appendChild(r);
    });
    var chats = document.querySelector("#sv-chats tbody");
    chats.textContent = "";
    d.chats.forEach(function (c) {
      var r = el("tr");
      r.dataset.id = c.id;
      cell(r, c.customer);
      cell(r, c.team);
      cell(r, c.intent);
      cell(r, c.status_label);
      cell(r, c.agent);
      cell(r, c.elapsed, "num");
      var td = el("td");
      var select = el("select");
      select.setAttribute("aria-label", t.to_agent);
      select.appendChild(el("option", "", t.to_agent));
      select.firstChild.value = "";
      agents.forEach(function (a) { var o = el("option", "", a.name); o.value = a.id; select.appendChild(o); });
      var go = el("button", "", t.reassign);
      go.type = "button";
      go.addEventListener("click", function () {
        if (select.value) ws.send(JSON.stringify({ type: "reassign", conversation_id: c.id, to_agent: select.value }));
      });
      td.appendChild(select);
      td.appendChild(go);
      r.appendChild(td);
      chats.appendChild(r);
    });
  }

  connect();
})();
