/* The agent's live chat console over /ws/chat/agent/ (protocol: docs/chat-protocol.md).
   Chats, queue and presence update in real time; a dropped connection resumes from the last
   message number seen per chat, and unconfirmed replies are sent again with the same id. */
(function () {
  "use strict";
  var root = document.getElementById("chat-console");
  if (!root) return;
  var t = JSON.parse(root.dataset.i18n);
  var $ = function (id) { return document.getElementById(id); };
  var banner = $("cc-banner");

  var ws = null;
  var greeted = false;
  var failures = 0;
  var chats = {};      // id -> {summary, messages: {seq: message}, last, unread, mine}
  var current = null;
  var outbox = {};     // client_id -> frame, until acknowledged
  var pendingEl = {};  // client_id -> <li>
  var queueItems = [];
  var me = null;
  var typingTimer = null;
  var typingSent = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(s, v) { return s.replace(/\{(\w+)\}/g, function (m, k) { return v[k] !== undefined ? v[k] : m; }); }
  function newId() {
    return "a-" + (window.crypto && crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));
  }

  // --- connection -----------------------------------------------------------------------
  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.ws;
    ws = new WebSocket(url);
    ws.onopen = function () {
      var seen = {};
      Object.keys(chats).forEach(function (id) { seen[id] = chats[id].last; });
      ws.send(JSON.stringify({ type: "hello", last_seqs: seen }));
    };
    ws.onmessage = function (e) { handle(JSON.parse(e.data)); };
    ws.onclose = function (e) {
      greeted = false;
      if (e.code === 4403) return;
      if (e.code === 4401) { location.reload(); return; }  // signed out: the page asks to sign in
      banner.hidden = false;
      banner.textContent = t.reconnecting;
      failures += 1;
      setTimeout(connect, Math.min(15000, 500 * Math.pow(2, Math.min(failures, 5))));
    };
  }
  function send(frame) {
    if (ws && ws.readyState === 1 && greeted) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }
  setInterval(function () { send({ type: "ping" }); }, 25000);

  // --- frames -------------------------------------------------------------------------------
  function handle(f) {
    switch (f.type) {
      case "welcome":
        greeted = true;
        failures = 0;
        banner.hidden = true;
        me = f.me;
        presence(f.presence);
        f.chats.forEach(function (c) { merge(c, true); });
        renderQueue(f.queue);
        targets(f.targets);
        Object.keys(outbox).forEach(function (id) { send(outbox[id]); });
        renderMine();
        if (!current && f.chats.length) select(f.chats[0].id);
        else if (current) renderChat();
        break;
      case "presence": presence(f); break;
      case "queue": renderQueue(f); break;
      case "assigned":
        merge(f.chat, true);
        renderMine();
        if (!current || (chats[current] && chats[current].summary.status !== "active")) select(f.chat.id);
        else if (current === f.chat.id) renderChat(); // taken from the chat on screen: now theirs
        break;
      case "chat":
        merge(f.chat, chats[f.chat.id] ? chats[f.chat.id].mine : false);
        if (current === f.chat.id) renderChat();
        break;
      case "unassigned":
        if (chats[f.conversation_id]) chats[f.conversation_id].mine = false;
        renderMine();
        if (current === f.conversation_id) renderChat();
        break;
      case "message": message(f.conversation_id, f.message); break;
      case "typing":
        if (f.conversation_id === current && f.sender === "customer") $("cc-typing").hidden = !f.active;
        break;
      case "read":
        if (chats[f.conversation_id] && f.by === "customer") {
          chats[f.conversation_id].summary.customer_read_seq = f.seq;
          if (f.conversation_id === current) renderChat();
        }
        break;
      case "status":
        var c = chats[f.conversation_id];
        if (c) {
          c.summary.status = f.status;
          if (f.status !== "active") c.mine = c.mine && f.status === "active";
          renderMine();
          if (current === f.conversation_id) renderChat();
        }
        break;
      case "ack":
        // Our own message is not echoed back: the acknowledgement gives its number.
        var sent = outbox[f.client_id];
        delete outbox[f.client_id];
        var li = pendingEl[f.client_id];
        if (li) { li.classList.remove("pending"); delete pendingEl[f.client_id]; }
        var chat = sent && chats[sent.conversation_id];
        if (chat && !chat.messages[f.seq]) {
          chat.messages[f.seq] = { seq: f.seq, client_id: f.client_id, sender: "agent", internal: !!sent.internal,
                                   author: me ? me.name : "", text: sent.text };
          chat.last = Math.max(chat.last, f.seq);
          if (sent.conversation_id === current) renderChat();
        }
        break;
      case "context": context(f); break;
      case "phone_call": phoneCall(f.call); break;
      case "converted":
        banner.hidden = false;
        banner.textContent = fmt(t.converted, { "case": f.case_number });
        break;
      case "error":
        if (f.client_id && pendingEl[f.client_id]) {
          pendingEl[f.client_id].appendChild(el("span", "receipt", f.detail));
          delete outbox[f.client_id];
        }
        banner.hidden = false;
        banner.textContent = f.detail;
        break;
    }
  }

  function merge(chat, mine) {
    var c = chats[chat.id] || { messages: {}, last: 0, unread: 0, mine: false };
    c.summary = chat;
    c.mine = mine || c.mine;
    (chat.history || []).forEach(function (m) { c.messages[m.seq] = m; c.last = Math.max(c.last, m.seq); });
    chats[chat.id] = c;
    return c;
  }

  function message(id, m) {
    var c = chats[id];
    if (!c) return;
    if (c.messages[m.seq]) return;
    if (m.seq > c.last + 1) send({ type: "open", conversation_id: id, last_seq: c.last }); // a gap: fetch it
    c.messages[m.seq] = m;
    c.last = Math.max(c.last, m.seq);
    c.summary.last_seq = c.last;
    if (m.client_id && pendingEl[m.client_id]) {
      pendingEl[m.client_id].classList.remove("pending");
      delete pendingEl[m.client_id];
      delete outbox[m.client_id];
    }
    if (id === current) {
      renderChat();
      if (m.sender === "customer") $("cc-typing").hidden = true;
    } else if (m.sender === "customer") {
      c.unread += 1;
      renderMine();
    }
  }

  function presence(p) {
    $("cc-status").value = p.status;
    if (document.activeElement !== $("cc-capacity")) $("cc-capacity").value = p.capacity;
    $("cc-load").textContent = fmt(t.load, { active: p.active, capacity: p.capacity });
  }

  function targets(data) {
    var agents = $("cc-transfer-agent");
    var teams = $("cc-transfer-team");
    agents.length = 1;
    teams.length = 1;
    data.agents.forEach(function (a) { var o = el("option", "", a.name); o.value = a.id; agents.appendChild(o); });
    data.teams.forEach(function (tm) { var o = el("option", "", tm.name); o.value = tm.slug; teams.appendChild(o); });
  }

  // --- lists ------------------------------------------------------------------------------
  function renderQueue(q) {
    queueItems = q.items || [];
    var list = $("cc-queue");
    list.textContent = "";
    var total = 0;
    Object.keys(q.waiting || {}).forEach(function (k) { total += q.waiting[k]; });
    $("cc-waiting-count").textContent = total;
    if (!queueItems.length) { list.appendChild(el("li", "muted", t.nothing_waiting)); return; }
    queueItems.forEach(function (item) {
      var li = el("li", item.security ? "security" : "");
      li.dataset.id = item.id;
      var label = el("span", "", item.customer + " · " + (item.intent || item.team) + " · " + fmt(t.waited, { t: item.waited_text }));
      var accept = el("button", "primary cc-accept", t.accept);
      accept.type = "button";
      accept.addEventListener("click", function (e) { e.stopPropagation(); send({ type: "accept", conversation_id: item.id }); });
      li.appendChild(label);
      li.appendChild(accept);
      li.addEventListener("click", function () {
        merge(item, false);
        send({ type: "open", conversation_id: item.id, last_seq: 0 });
        select(item.id);
      });
      list.appendChild(li);
    });
  }

  function renderMine() {
    var list = $("cc-mine");
    list.textContent = "";
    var ids = Object.keys(chats).filter(function (id) { return chats[id].mine || id === current; });
    if (!ids.length) { list.appendChild(el("li", "muted", t.no_chats)); return; }
    ids.forEach(function (id) {
      var c = chats[id];
      var cls = [id === current ? "current" : "", c.summary.security ? "security" : "", c.summary.status === "closed" ? "closed" : ""].join(" ");
      var li = el("li", cls);
      li.dataset.id = id;
      li.appendChild(el("span", "", c.summary.customer + (c.summary.intent ? " · " + c.summary.intent : "")));
      if (c.unread) li.appendChild(el("span", "unread", String(c.unread)));
      li.addEventListener("click", function () { select(id); });
      list.appendChild(li);
    });
  }

  // --- the open chat ----------------------------------------------------------------------
  function select(id) {
    current = id;
    if (chats[id]) chats[id].unread = 0;
    $("cc-typing").hidden = true;
    $("cc-context").textContent = "";
    send({ type: "context", conversation_id: id });
    renderMine();
    renderChat();
  }

  function renderChat() {
    var c = chats[current];
    var log = $("cc-log");
    log.textContent = "";
    if (!c) { $("cc-title").textContent = t.pick; return; }
    var s = c.summary;
    $("cc-title").textContent = s.customer;
    var meta = [s.team, s.intent, s.language, fmt(t.tier, { n: s.tier })];
    if (s.security) meta.push(t.security);
    if (s.case_number) meta.push(s.case_number);
    if (s.status === "closed") meta.push(t.closed);
    $("cc-meta").textContent = meta.filter(Boolean).join(" · ");
    Object.keys(c.messages).map(Number).sort(function (a, b) { return a - b; }).forEach(function (seq) {
      var m = c.messages[seq];
      var kind = m.internal ? "note" : m.sender;
      var li = el("li", "cc-msg cc-" + kind);
      var who = m.sender === "agent" ? (m.author || "") : m.sender === "customer" ? t.customer : m.sender === "bot" ? t.bot : "";
      if (m.internal) who = (who ? who + " · " : "") + t.note;
      if (who) li.appendChild(el("span", "who", who));
      li.appendChild(document.createTextNode(m.text));
      if (m.sender === "agent" && !m.internal && seq <= (s.customer_read_seq || 0)) li.appendChild(el("span", "receipt", t.read));
      log.appendChild(li);
    });
    Object.keys(pendingEl).forEach(function (id) {
      if (outbox[id] && outbox[id].conversation_id === current) log.appendChild(pendingEl[id]);
    });
    log.scrollTop = log.scrollHeight;
    var open = s.status !== "closed";
    var mine = c.mine && s.status === "active";
    $("cc-compose").hidden = !open;
    $("cc-actions").hidden = !open;
    $("cc-accept").hidden = s.status !== "queued";
    ["cc-close", "cc-convert", "cc-transfer", "cc-escalate"].forEach(function (b) { $(b).disabled = !mine && !(me && me.supervisor); });
    if (mine && c.last) send({ type: "read", conversation_id: current, seq: c.last });
  }

  function context(f) {
    if (f.conversation_id !== current) return;
    var box = $("cc-context");
    box.textContent = "";
    var dl = el("dl", "cc-context");
    function row(label, value) { dl.appendChild(el("dt", "", label)); var dd = el("dd"); if (value instanceof Node) dd.appendChild(value); else dd.textContent = value; dl.appendChild(dd); }
    if (f.customer) {
      row(t.customer, f.customer.email + (f.customer.name ? " (" + f.customer.name + ")" : ""));
      // One line under one heading: "Identity: Verified (SMS, 12-07 10:00)" or "Identity: Not verified".
      if (f.verification) row(t.identity, f.verification.label || (f.verification.verified ? t.verified : t.not_verified));
      row(t.previous_chats.replace("{n}", ""), String(f.previous_chats));
    } else {
      row(t.customer, t.visitor);
    }
    if (f.facts && f.facts.length) {
      var facts = el("ul", "plain");
      f.facts.forEach(function (x) { facts.appendChild(el("li", "", x.label + ": " + x.value)); });
      row(t.facts, facts);
    }
    var tickets = el("ul", "plain");
    (f.tickets || []).forEach(function (tk) {
      var li = el("li");
      var a = el("a", "", tk.case_number);
      a.href = tk.url;
      a.target = "_blank";
      li.appendChild(a);
      li.appendChild(document.createTextNode(" " + tk.title + " · " + tk.status));
      tickets.appendChild(li);
    });
    row(t.tickets, (f.tickets || []).length ? tickets : t.none);
    box.appendChild(dl);
    var canned = $("cc-canned");
    canned.length = 1;
    (f.canned || []).forEach(function (r) { var o = el("option", "", r.title); o.value = r.body; canned.appendChild(o); });
  }

  // The agent's phone rings for a hotline call: the case opens here, with who is calling, what
  // they chose in the menus and whether they proved who they are. The console stays (it holds
  // the agent's chats and presence): the full case opens in another tab from the link, which
  // takes the focus unless the agent is typing a reply, when a banner links it instead.
  function phoneCall(call) {
    var box = $("cc-call");
    if (!box || !call || !call.case_number) return;
    var lang = (document.documentElement.lang || "").toLowerCase().indexOf("en") === 0 ? "en" : "zh-hans";
    var topic = (call.topic_label && (call.topic_label[lang] || call.topic_label.en)) || call.topic || "";
    box.textContent = "";
    box.dataset.case = call.case_number;
    box.appendChild(el("h3", "", t.phone_ringing));
    var dl = el("dl", "cc-context");
    function row(label, value) { dl.appendChild(el("dt", "", label)); var dd = el("dd"); if (value instanceof Node) dd.appendChild(value); else dd.textContent = value; dl.appendChild(dd); }
    var link = el("a", "cc-call-case", call.case_number);
    link.href = call.url;
    link.target = "_blank";
    link.rel = "noopener";
    row(t.phone_case, link);
    if (call.title) row(t.phone_title, call.title);
    row(t.phone_caller, call.caller || t.phone_withheld);
    row(t.phone_menu, (call.menu_path ? call.menu_path.split(">").join(" → ") + " · " : "") + topic);
    row(t.identity, call.verified ? t.phone_verified : t.not_verified);
    box.appendChild(dl);
    var open = el("a", "button primary", t.phone_open);
    open.href = call.url;
    open.target = "_blank";
    open.rel = "noopener";
    box.appendChild(open);
    box.hidden = false;
    var drafting = $("cc-text").value.trim() !== "";
    if (drafting) {
      banner.hidden = false;
      banner.textContent = "";
      banner.appendChild(document.createTextNode(fmt(t.phone_banner, { "case": call.case_number }) + " "));
      var a = el("a", "", t.phone_open);
      a.href = call.url;
      a.target = "_blank";
      a.rel = "noopener";
      banner.appendChild(a);
    } else {
      box.scrollIntoView({ block: "nearest" });
      open.focus();
    }
  }

  // --- controls -----------------------------------------------------------------------------
  $("cc-status").addEventListener("change", function () { send({ type: "status", status: this.value }); });
  $("cc-capacity").addEventListener("change", function () { send({ type: "status", capacity: String(this.value) }); });
  $("cc-canned").addEventListener("change", function () {
    if (!this.value) return;
    var text = $("cc-text");
    text.value = (text.value ? text.value + "\n" : "") + this.value;
    this.value = "";
    text.focus();
  });
  $("cc-compose").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("cc-text").value.trim();
    if (!text || !current) return;
    var clientId = newId();
    var frame = { type: "message", conversation_id: current, client_id: clientId, text: text, internal: $("cc-internal").checked };
    outbox[clientId] = frame;
    var li = el("li", "cc-msg pending cc-" + (frame.internal ? "note" : "agent"), text);
    pendingEl[clientId] = li;
    $("cc-log").appendChild(li);
    $("cc-text").value = "";
    $("cc-internal").checked = false;
    send(frame);
    typingSent = 0;
    send({ type: "typing", conversation_id: current, active: false });
  });
  // Enter sends, Shift+Enter starts a new line. An Enter that confirms an input method's
  // composition (Chinese pinyin, Japanese...) only ends the composition: it must never send.
  $("cc-text").addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    $("cc-compose").requestSubmit();
  });
  $("cc-text").addEventListener("input", function () {
    if (!current || $("cc-internal").checked) return;
    var now = Date.now();
    if (now - typingSent > 2000) { typingSent = now; send({ type: "typing", conversation_id: current, active: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingSent = 0; send({ type: "typing", conversation_id: current, active: false }); }, 3000);
  });
  $("cc-accept").addEventListener("click", function () { send({ type: "accept", conversation_id: current }); });
  $("cc-close").addEventListener("click", function () { send({ type: "close", conversation_id: current }); });
  $("cc-convert").addEventListener("click", function () { send({ type: "convert", conversation_id: current }); });
  $("cc-transfer").addEventListener("click", function () {
    var agent = $("cc-transfer-agent").value;
    var team = $("cc-transfer-team").value;
    if (!agent && !team) return;
    send({ type: "transfer", conversation_id: current, to_agent: agent || null, to_team: agent ? null : team, note: $("cc-transfer-note").value });
    $("cc-transfer-note").value = "";
  });
  $("cc-escalate").addEventListener("click", function () {
    send({ type: "escalate", conversation_id: current, reason: $("cc-escalate-reason").value });
    $("cc-escalate-reason").value = "";
  });

  $("cc-title").textContent = t.pick;
  connect();
})();
