/* The chat panel: the bot first, then — after hand-off — the human queue and an agent, in one
   panel over one WebSocket (protocol: docs/chat-protocol.md). Where live chat is not installed
   (no data-ws), or the socket never opens, it uses the bot's HTTP API. /chat/embed.js loads this same
   file on other sites, with absolute URLs in the panel's data attributes. */
(function () {
  "use strict";
  var root = document.getElementById("kefu-bot");
  if (!root || root.dataset.started) return;
  root.dataset.started = "1";
  var t = JSON.parse(root.dataset.i18n);
  var lang = root.dataset.lang || document.documentElement.lang || "zh-hans";
  var STORE = "kefu.chat.v1";
  var PING_MS = 25000;

  // --- styles: the panel must look the same when embedded on a page without kefu.css --------
  (function injectStyles() {
    if (document.getElementById("kefu-bot-style")) return;
    var css = [
      "#kefu-bot{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.5 -apple-system,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',system-ui,sans-serif;color:#1c2430}",
      "#kefu-bot button{font:inherit;cursor:pointer;border:1px solid #cfd4dc;border-radius:6px;background:#fff;padding:6px 12px;color:#1c2430}",
      "#kefu-bot .primary{background:#2f5bea;border-color:#2f5bea;color:#fff}",
      "#kefu-bot .bot-toggle{background:#2f5bea;color:#fff;border:0;border-radius:22px;padding:10px 18px;box-shadow:0 4px 14px rgba(0,0,0,.15)}",
      "#kefu-bot .bot-panel{position:fixed;right:20px;bottom:72px;width:380px;max-width:calc(100vw - 40px);height:560px;max-height:calc(100vh - 100px);background:#fff;border:1px solid #e4e7ec;border-radius:12px;display:flex;flex-direction:column;box-shadow:0 10px 30px rgba(0,0,0,.18)}",
      // The hidden attribute always hides, whatever a host page's or our own rules say about display.
      "#kefu-bot [hidden]{display:none !important}",
      "#kefu-bot .bot-head{padding:10px 14px;border-bottom:1px solid #e4e7ec;font-weight:600;display:flex;gap:8px;align-items:center}",
      "#kefu-bot .bot-head .bot-title{flex:1}",
      "#kefu-bot .bot-close{border:0;background:none;font-size:20px;line-height:1;padding:0 4px}",
      "#kefu-bot .bot-end{font-size:12px;padding:2px 8px}",
      "#kefu-bot .bot-line{font-size:12px;color:#667085;padding:4px 14px;border-bottom:1px solid #e4e7ec}",
      "#kefu-bot .bot-line:empty{display:none}",
      "#kefu-bot .bot-log{list-style:none;margin:0;padding:12px;overflow-y:auto;flex:1;display:flex;flex-direction:column;gap:8px}",
      "#kefu-bot .bot-msg{padding:8px 12px;border-radius:10px;max-width:88%;word-wrap:break-word}",
      "#kefu-bot .bot-bot,#kefu-bot .bot-agent{background:#f2f4f7;align-self:flex-start}",
      "#kefu-bot .bot-agent{background:#eef4ff}",
      "#kefu-bot .bot-me{background:#2f5bea;color:#fff;align-self:flex-end}",
      "#kefu-bot .bot-me.pending{opacity:.6}",
      "#kefu-bot .bot-me .bot-receipt{display:block;font-size:11px;opacity:.8;text-align:right}",
      "#kefu-bot .bot-system{align-self:center;background:none;color:#667085;font-size:12px;padding:2px 8px;text-align:center}",
      "#kefu-bot .bot-author{display:block;font-size:12px;color:#667085}",
      "#kefu-bot .bot-quick{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}",
      "#kefu-bot .bot-quick button{font-size:13px;padding:4px 10px;border-radius:14px}",
      "#kefu-bot .bot-articles{margin:6px 0 0;padding-left:18px}",
      "#kefu-bot .bot-warning{background:#fef3f2;color:#c4320a;padding:6px 8px;border-radius:6px;margin:6px 0 0}",
      "#kefu-bot .bot-queue{margin:0 12px 8px;padding:10px 12px;border:1px solid #fedf89;background:#fffaeb;border-radius:8px;font-size:13px}",
      "#kefu-bot .bot-queue p{margin:2px 0}",
      "#kefu-bot .bot-queue .bot-offer{margin-top:6px;display:flex;flex-wrap:wrap;gap:6px}",
      "#kefu-bot .bot-queue input{width:100%;padding:6px 8px;border:1px solid #cfd4dc;border-radius:6px;font:inherit}",
      "#kefu-bot .bot-typing{margin:0 14px 6px;font-size:12px;color:#667085}",
      "#kefu-bot .bot-rating{margin:0 12px 8px;padding:10px 12px;border:1px solid #e4e7ec;border-radius:8px}",
      "#kefu-bot .bot-stars{display:flex;gap:4px;margin:6px 0}",
      "#kefu-bot .bot-stars button{font-size:18px;padding:2px 8px}",
      "#kefu-bot .bot-stars button.on{background:#fef0c7;border-color:#f79009}",
      "#kefu-bot .bot-rating textarea{width:100%;min-height:50px;font:inherit;border:1px solid #cfd4dc;border-radius:6px;padding:6px}",
      "#kefu-bot .bot-form{display:flex;gap:6px;padding:10px;border-top:1px solid #e4e7ec}",
      "#kefu-bot .bot-form input{flex:1;padding:8px 10px;border:1px solid #cfd4dc;border-radius:6px;font:inherit}"
    ].join("\n");
    var style = document.createElement("style");
    style.id = "kefu-bot-style";
    style.textContent = css;
    document.head.appendChild(style);
  })();

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(s, values) {
    return s.replace(/\{(\w+)\}/g, function (m, k) { return values[k] !== undefined ? values[k] : m; });
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return "c-" + crypto.randomUUID();
    return "c-" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // --- the panel -----------------------------------------------------------------------
  var toggle = el("button", "bot-toggle", t.open);
  toggle.type = "button";
  var panel = el("section", "bot-panel");
  panel.hidden = true;
  panel.setAttribute("aria-label", t.title);
  var header = el("header", "bot-head");
  var title = el("span", "bot-title", t.title);
  var endButton = el("button", "bot-end", t.end_chat);
  endButton.type = "button";
  endButton.hidden = true;
  var close = el("button", "bot-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", t.close);
  header.appendChild(title);
  header.appendChild(endButton);
  header.appendChild(close);
  var line = el("p", "bot-line");
  line.setAttribute("role", "status");
  var log = el("ol", "bot-log");
  log.setAttribute("aria-live", "polite");
  var queueCard = el("div", "bot-queue");
  queueCard.hidden = true;
  var typing = el("p", "bot-typing", t.typing);
  typing.hidden = true;
  var rating = el("div", "bot-rating");
  rating.hidden = true;
  var form = el("form", "bot-form");
  var input = el("input");
  input.name = "text";
  input.placeholder = t.placeholder;
  input.autocomplete = "off";
  input.maxLength = 2000;
  var send = el("button", "primary", t.send);
  send.type = "submit";
  form.appendChild(input);
  form.appendChild(send);
  [header, line, log, queueCard, typing, rating, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(toggle);
  root.appendChild(panel);

  function add(who, text, before) {
    var li = el("li", "bot-msg bot-" + who);
    (text || "").split("\n").forEach(function (part, i) {
      if (i) li.appendChild(document.createElement("br"));
      li.appendChild(document.createTextNode(part));
    });
    log.insertBefore(li, before || null);
    log.scrollTop = log.scrollHeight;
    return li;
  }

  function decorate(li, data) {
    if (data.secret_warning) li.appendChild(el("p", "bot-warning", data.secret_warning));
    if (data.articles && data.articles.length) {
      var ul = el("ul", "bot-articles");
      data.articles.forEach(function (a) {
        var item = el("li");
        var link = el("a", "", a.title);
        link.href = base() + a.url;
        item.appendChild(link);
        ul.appendChild(item);
      });
      li.appendChild(ul);
    }
    var handoff = data.handoff || (data.case_number ? { case_number: data.case_number, url: data.url } : null);
    if (handoff && handoff.case_number) {
      var p = el("p", "bot-handoff");
      var link = el("a", "bot-case", t.case + " " + handoff.case_number);
      // A chat hand-off's url is the chat's; its case (urgent topics) has its own.
      link.href = base() + (handoff.ticket_url || handoff.url || "");
      p.appendChild(link);
      li.appendChild(p);
    }
    if (handoff && handoff.kind === "chat" && handoff.url && handoff.chat_id !== state.id) {
      // Handed to live chat from the bot over HTTP: the chat opens on the page it links to.
      var go = el("a", "button primary", t.queue_title);
      go.href = base() + handoff.url;
      li.appendChild(go);
    }
    if (data.needs_sign_in && !signedIn) {
      // Remembered: once signed in, the panel reconnects on its own and the hand-off goes ahead.
      state.signin = true;
      save();
      var signin = el("a", "button primary bot-signin", t.signin);
      signin.href = root.dataset.login + "?next=" + encodeURIComponent(window.location.pathname);
      li.appendChild(signin);
    }
    if (data.quick_replies && data.quick_replies.length) {
      var bar = el("div", "bot-quick");
      data.quick_replies.forEach(function (q) {
        var b = el("button", "", q);
        b.type = "button";
        b.addEventListener("click", function () { ask(q); });
        bar.appendChild(b);
      });
      li.appendChild(bar);
    }
  }

  function base() {
    var m = (root.dataset.endpoint || "").match(/^(\w+:\/\/[^/]+)/);
    return m ? m[1] : "";
  }

  // --- state ------------------------------------------------------------------------------
  var state = load();
  // ?kefu_chat=<id>: a chat handed off elsewhere (the bot's HTTP API links to it) opens here;
  // the server shows it only to its own customer.
  var linked = /[?&]kefu_chat=([0-9a-f]{32})(?:&|$)/.exec(window.location.search);
  if (linked && linked[1] !== state.id) state = { id: linked[1], key: null, status: "queued", outbox: [] };
  // The signed-in customer's open chat with a human (the page says which): it follows them to
  // every tab and device, whatever this browser remembered.
  var signedIn = root.dataset.signedIn === "1";
  var openChat = root.dataset.openChat;
  if (openChat && openChat !== state.id) state = { id: openChat, key: null, status: "queued", outbox: state.outbox || [] };
  var ws = null;
  var greeted = false;
  var welcomedOnce = false;
  var failures = 0;
  var httpMode = !root.dataset.ws;
  var retryTimer = null;
  var pingTimer = null;
  var status = state.status || "";
  var rendered = {};   // seq -> <li>, messages shown on this page
  var pending = {};    // client_id -> <li>, sent but not yet confirmed
  var lastVisible = 0; // highest message number shown; the server resends what follows it
  var agentRead = 0;
  var typingSent = 0;
  var typingStop = null;
  var csatToken = null;
  var seenClientIds = {}; // client_id -> seq of messages already shown

  function load() {
    try {
      var s = JSON.parse(window.localStorage.getItem(STORE) || "{}");
      s.outbox = s.outbox || [];
      return s;
    } catch (e) {
      return { outbox: [] };
    }
  }
  function save() {
    try {
      window.localStorage.setItem(STORE, JSON.stringify({
        id: state.id || null, key: state.key || null, status: status, outbox: state.outbox || [],
        signin: !!state.signin
      }));
    } catch (e) { /* private mode: the conversation lasts as long as the page */ }
  }

  function wsUrl() {
    var u = root.dataset.ws;
    if (/^wss?:\/\//.test(u)) return u;
    if (/^https?:\/\//.test(u)) return u.replace(/^http/, "ws");
    return (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + u;
  }

  function connect() {
    if (httpMode || (ws && ws.readyState <= 1)) return;
    clearTimeout(retryTimer);
    try {
      ws = new WebSocket(wsUrl());
    } catch (e) {
      onDrop();
      return;
    }
    ws.onopen = function () {
      ws.send(JSON.stringify({
        type: "hello", conversation_id: state.id || null, resume_key: state.key || null,
        last_seq: lastVisible, language: lang
      }));
    };
    ws.onmessage = function (e) {
      var frame;
      try { frame = JSON.parse(e.data); } catch (x) { return; }
      handle(frame);
    };
    ws.onclose = onDrop;
  }

  function onDrop() {
    greeted = false;
    clearInterval(pingTimer);
    failures += 1;
    if (!welcomedOnce && failures >= 2) {
      // No live chat reachable: the bot over HTTP, as before; what was typed goes that way.
      httpMode = true;
      line.textContent = "";
      (state.outbox || []).forEach(function (item) {
        var li = pending[item.client_id];
        if (li) li.classList.remove("pending");
        delete pending[item.client_id];
        askHttp(item.text, li);
      });
      state.outbox = [];
      save();
      return;
    }
    if (welcomedOnce) line.textContent = t.reconnecting;
    var delay = welcomedOnce ? Math.min(15000, 500 * Math.pow(2, Math.min(failures, 5))) : 300;
    retryTimer = setTimeout(connect, delay);
  }

  function frame(data) {
    if (ws && ws.readyState === 1 && greeted) {
      ws.send(JSON.stringify(data));
      return true;
    }
    return false;
  }

  // --- frames from the server ---------------------------------------------------------
  function handle(f) {
    switch (f.type) {
      case "welcome":
        greeted = true;
        welcomedOnce = true;
        failures = 0;
        line.textContent = "";
        var wasOpen = status === "queued" || status === "active";
        if (f.signed_in) { signedIn = true; state.signin = false; hideSignIn(); }
        if (f.conversation && state.id && f.conversation.id !== state.id) clearLog();
        if (f.conversation) {
          adopt(f.conversation);
        } else if (state.id) {
          state.id = null; state.key = null; status = ""; save();
        }
        (f.history || []).forEach(function (m) { show(m, null); });
        if (f.conversation) lastVisible = Math.max(lastVisible, f.conversation.last_seq || 0);
        if (f.conversation) applyStatus(f.conversation);
        // Handed off at sign-in, or an open chat found for this customer: show it.
        if (!wasOpen && (status === "queued" || status === "active")) panel.hidden = false;
        renderQueue(f.queue, f.hours);
        if (!log.children.length) add("bot", t.welcome);
        flushOutbox();
        clearInterval(pingTimer);
        pingTimer = setInterval(function () { frame({ type: "ping" }); }, PING_MS);
        markRead();
        break;
      case "conversation":
        adopt(f.conversation);
        break;
      case "ack":
        confirm(f.client_id, f.seq);
        if (f.secret_warning && rendered[f.seq]) {
          // Show what was stored (the secret hidden), not what was typed.
          rendered[f.seq].textContent = f.text || rendered[f.seq].textContent;
          rendered[f.seq].appendChild(el("p", "bot-warning", f.secret_warning));
        }
        break;
      case "message":
        if (state.id && f.conversation_id !== state.id) return;
        show(f.message, null);
        if (f.message.sender === "agent") typing.hidden = true;
        markRead();
        break;
      case "history":
        (f.messages || []).forEach(function (m) { show(m, null); });
        break;
      case "status":
        applyStatus(f);
        break;
      case "queue":
        renderQueue(f, f.hours);
        break;
      case "typing":
        typing.hidden = !f.active;
        break;
      case "read":
        if (f.by === "agent") { agentRead = Math.max(agentRead, f.seq); receipts(); }
        break;
      case "rated":
        rating.textContent = t.thanks_rating;
        break;
      case "error":
        if (f.client_id && pending[f.client_id]) {
          var li = pending[f.client_id];
          li.classList.remove("pending");
          li.appendChild(el("p", "bot-warning", f.detail));
          delete pending[f.client_id];
          dropFromOutbox(f.client_id);
        } else {
          add("system", f.detail);
        }
        break;
    }
  }

  function clearLog() {
    // Another conversation than the one shown (the customer's open chat from another tab or
    // device): its history replaces what is on screen; unsent messages are sent to it.
    log.textContent = "";
    rendered = {}; pending = {}; lastVisible = 0; agentRead = 0; seenClientIds = {};
  }

  function hideSignIn() {
    Array.prototype.forEach.call(log.querySelectorAll(".bot-signin"), function (a) { a.parentNode.removeChild(a); });
  }

  function adopt(conversation) {
    if (state.id && state.id !== conversation.id) {
      // A new conversation after the last one ended: numbering starts again.
      rendered = {}; lastVisible = 0; agentRead = 0;
    }
    state.id = conversation.id;
    state.key = conversation.resume_key;
    agentRead = Math.max(agentRead, conversation.agent_read_seq || 0);
    save();
  }

  function applyStatus(s) {
    status = s.status || status;
    save();
    endButton.hidden = !(status === "queued" || status === "active");
    title.textContent = status === "active" && s.agent ? fmt(t.with_agent, { name: s.agent }) : t.title;
    if (status !== "queued") queueCard.hidden = true;
    if (status !== "active") typing.hidden = true;
    if (status === "closed") {
      if (s.csat) showRating(s.csat);
    } else {
      rating.hidden = true;
    }
  }

  function show(m, before) {
    if (m.client_id) seenClientIds[m.client_id] = m.seq;
    if (rendered[m.seq]) return;
    var li;
    if (m.client_id && pending[m.client_id]) {
      li = pending[m.client_id];
      confirm(m.client_id, m.seq);
    } else {
      var who = m.sender === "customer" ? "me" : m.sender;
      var next = null;
      Object.keys(rendered).forEach(function (k) {
        var n = +k;
        if (n > m.seq && (!next || n < +next.dataset.seq)) next = rendered[k];
      });
      li = add(who, m.text, next || before);
      li.dataset.seq = m.seq;
      rendered[m.seq] = li;
      if (m.sender === "agent" && m.author) li.insertBefore(el("span", "bot-author", m.author), li.firstChild);
      decorate(li, m.extra || {});
    }
    lastVisible = Math.max(lastVisible, m.seq);
    receipts();
  }

  function confirm(clientId, seq) {
    var li = pending[clientId];
    if (!li) return;
    delete pending[clientId];
    if (rendered[seq] && rendered[seq] !== li) {
      li.parentNode.removeChild(li); // shown already (from history)
      dropFromOutbox(clientId);
      return;
    }
    li.classList.remove("pending");
    li.dataset.seq = seq;
    rendered[seq] = li;
    lastVisible = Math.max(lastVisible, seq);
    dropFromOutbox(clientId);
    receipts();
  }

  function receipts() {
    Object.keys(rendered).forEach(function (k) {
      var li = rendered[k];
      if (!li.classList.contains("bot-me")) return;
      var mark = li.querySelector(".bot-receipt");
      if (+k <= agentRead && status !== "bot") {
        if (!mark) li.appendChild(el("span", "bot-receipt", t.read));
      }
    });
  }

  function markRead() {
    if (!panel.hidden && lastVisible && (status === "active" || status === "queued")) {
      frame({ type: "read", seq: lastVisible });
    }
  }

  // --- the queue, offers, rating --------------------------------------------------------
  function renderQueue(q, hours) {
    queueCard.textContent = "";
    if (!q || status !== "queued") {
      queueCard.hidden = true;
      return;
    }
    queueCard.hidden = false;
    queueCard.appendChild(el("p", "bot-queue-title", t.queue_title)).style.fontWeight = "600";
    queueCard.appendChild(el("p", "bot-position", fmt(t.position, { n: q.position })));
    if (q.eta_seconds !== null && q.eta_seconds !== undefined) {
      var text = q.eta_seconds < 60 ? t.eta_soon : fmt(t.eta, { m: Math.ceil(q.eta_seconds / 60) });
      queueCard.appendChild(el("p", "bot-eta", text));
      queueCard.appendChild(el("p", "bot-agents", fmt(t.agents_online, { n: q.agents_online })));
    }
    var h = q.hours || hours;
    if (h && h.holiday) queueCard.appendChild(el("p", "", fmt(t.holiday, { name: h.holiday })));
    if (h && h.reduced_staff) queueCard.appendChild(el("p", "", t.reduced));
    if (h && !h.open && h.next_opens_at) {
      var when = new Date(h.next_opens_at).toLocaleString(lang, { weekday: "short", hour: "2-digit", minute: "2-digit" });
      queueCard.appendChild(el("p", "", fmt(t.opens_at, { time: when })));
    }
    if (q.offer) {
      queueCard.appendChild(el("p", "bot-offer-text", t["offer_" + q.offer] || t.offer_long_wait));
      var bar = el("div", "bot-offer");
      var ticket = el("button", "", t.leave_ticket);
      ticket.type = "button";
      ticket.className = "bot-leave-ticket";
      ticket.addEventListener("click", function () { frame({ type: "choose", choice: "ticket" }); });
      var call = el("button", "", t.callback);
      call.type = "button";
      call.addEventListener("click", function () {
        bar.textContent = "";
        var phone = el("input");
        phone.type = "tel";
        phone.placeholder = t.phone;
        var go = el("button", "primary", t.request_callback);
        go.type = "button";
        go.addEventListener("click", function () { frame({ type: "choose", choice: "callback", phone: phone.value }); });
        bar.appendChild(phone);
        bar.appendChild(go);
        phone.focus();
      });
      bar.appendChild(ticket);
      bar.appendChild(call);
      queueCard.appendChild(bar);
    }
  }

  function showRating(token) {
    if (csatToken === token) return;
    csatToken = token;
    rating.textContent = "";
    rating.hidden = false;
    rating.appendChild(el("p", "", t.rate));
    var stars = el("div", "bot-stars");
    var chosen = 0;
    for (var i = 1; i <= 5; i++) {
      (function (n) {
        var b = el("button", "bot-star", "★");
        b.type = "button";
        b.dataset.rating = n;
        b.setAttribute("aria-label", fmt(t.stars, { n: n }));
        b.addEventListener("click", function () {
          chosen = n;
          Array.prototype.forEach.call(stars.children, function (s) {
            s.classList.toggle("on", +s.dataset.rating <= n);
          });
        });
        stars.appendChild(b);
      })(i);
    }
    var comment = el("textarea");
    comment.placeholder = t.comment;
    comment.maxLength = 2000;
    var submit = el("button", "primary bot-rate-send", t.submit_rating);
    submit.type = "button";
    submit.addEventListener("click", function () {
      if (chosen) frame({ type: "rate", token: token, rating: chosen, comment: comment.value });
    });
    var again = el("button", "bot-new", t.new_chat);
    again.type = "button";
    again.addEventListener("click", function () { rating.hidden = true; input.focus(); });
    rating.appendChild(stars);
    rating.appendChild(comment);
    rating.appendChild(submit);
    rating.appendChild(document.createTextNode(" "));
    rating.appendChild(again);
  }

  // --- sending ----------------------------------------------------------------------------
  function flushOutbox() {
    (state.outbox || []).forEach(function (item) {
      if (seenClientIds[item.client_id]) {
        dropFromOutbox(item.client_id); // stored before the connection dropped; the ack was lost
        return;
      }
      if (!pending[item.client_id]) {
        var li = add("me", item.text);
        li.classList.add("pending");
        pending[item.client_id] = li;
      }
      frame({ type: "message", client_id: item.client_id, text: item.text });
    });
  }

  function dropFromOutbox(clientId) {
    state.outbox = (state.outbox || []).filter(function (i) { return i.client_id !== clientId; });
    save();
  }

  function ask(text) {
    text = (text || "").trim();
    if (!text) return;
    input.value = "";
    if (httpMode) return askHttp(text);
    var clientId = newId();
    var li = add("me", text);
    li.classList.add("pending");
    pending[clientId] = li;
    // Kept until the server confirms it: a reconnect (or the next page) sends it again, and the
    // server recognises the id, so it is stored exactly once.
    state.outbox = (state.outbox || []).concat([{ client_id: clientId, text: text }]);
    save();
    if (!frame({ type: "message", client_id: clientId, text: text })) connect();
    stopTyping();
  }

  function stopTyping() {
    clearTimeout(typingStop);
    if (typingSent) {
      typingSent = 0;
      frame({ type: "typing", active: false });
    }
  }

  input.addEventListener("input", function () {
    if (status !== "queued" && status !== "active") return;
    var now = Date.now();
    if (now - typingSent > 2000) {
      typingSent = now;
      frame({ type: "typing", active: true });
    }
    clearTimeout(typingStop);
    typingStop = setTimeout(stopTyping, 3000);
  });

  // --- the bot over HTTP, where live chat is not available ------------------------------
  var httpConversation = window.localStorage.getItem("kefu.bot.conversation");
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function askHttp(text, shown) {
    if (!shown) add("me", text);
    send.disabled = true;
    fetch(root.dataset.endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept-Language": lang },
      body: JSON.stringify({ conversation_id: httpConversation, text: text })
    })
      .then(function (r) {
        if (r.status === 404) { httpConversation = null; window.localStorage.removeItem("kefu.bot.conversation"); }
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      })
      .then(function (res) {
        if (!res.ok) { add("bot", res.body.detail || t.error); return; }
        httpConversation = res.body.conversation_id;
        window.localStorage.setItem("kefu.bot.conversation", httpConversation);
        decorate(add("bot", res.body.reply), res.body);
      })
      .catch(function () { add("bot", t.error); })
      .finally(function () { send.disabled = false; input.focus(); });
  }

  // --- wiring -----------------------------------------------------------------------------
  toggle.addEventListener("click", function () {
    panel.hidden = !panel.hidden;
    if (!panel.hidden) {
      if (!log.children.length) add("bot", t.welcome);
      connect();
      markRead();
      input.focus();
    }
  });
  close.addEventListener("click", function () { panel.hidden = true; });
  endButton.addEventListener("click", function () { frame({ type: "close" }); });
  form.addEventListener("submit", function (e) { e.preventDefault(); ask(input.value); });
  // Enter sends (the form's submit); an Enter that confirms an input method's composition
  // (Chinese pinyin...) only ends the composition and must not send the half-typed text.
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.isComposing || e.keyCode === 229)) e.preventDefault();
  });

  // A chat in progress follows the customer from page to page.
  if (state.id && (status === "queued" || status === "active")) {
    panel.hidden = false;
    connect();
  } else if (state.id && state.signin && signedIn) {
    // Asked for a human, was told to sign in, has signed in: reconnect so the hand-off goes ahead.
    connect();
  }

  // Another tab of this browser started or resumed a chat with a human: show it here too.
  window.addEventListener("storage", function (e) {
    if (e.key !== STORE) return;
    var other = load();
    if (!other.id || other.id === state.id || (other.status !== "queued" && other.status !== "active")) return;
    state = other;
    status = other.status;
    clearLog();
    panel.hidden = false;
    if (ws) { ws.onclose = null; ws.close(); ws = null; greeted = false; }
    if (httpMode) return;
    connect();
  });
})();
