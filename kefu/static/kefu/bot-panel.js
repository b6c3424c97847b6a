/* The assistant panel: a floating button that opens a chat with the bot (HTTP for now). */
(function () {
  "use strict";
  var root = document.getElementById("kefu-bot");
  if (!root) return;
  var t = JSON.parse(root.dataset.i18n);
  var endpoint = root.dataset.endpoint;
  var storeKey = "kefu.bot.conversation";
  var conversationId = window.localStorage.getItem(storeKey);

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  var toggle = el("button", "bot-toggle", t.open);
  toggle.type = "button";
  var panel = el("section", "bot-panel");
  panel.hidden = true;
  panel.setAttribute("aria-label", t.title);
  var header = el("header", "bot-head", t.title);
  var close = el("button", "bot-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", t.close);
  header.appendChild(close);
  var log = el("ol", "bot-log");
  log.setAttribute("aria-live", "polite");
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
  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(form);
  root.appendChild(toggle);
  root.appendChild(panel);

  function add(who, text) {
    var li = el("li", "bot-msg bot-" + who);
    text.split("\n").forEach(function (line, i) {
      if (i) li.appendChild(document.createElement("br"));
      li.appendChild(document.createTextNode(line));
    });
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    return li;
  }

  function render(data) {
    var li = add("bot", data.reply);
    if (data.secret_warning) li.appendChild(el("p", "bot-warning", data.secret_warning));
    if (data.articles && data.articles.length) {
      var ul = el("ul", "bot-articles");
      data.articles.forEach(function (a) {
        var item = el("li");
        var link = el("a", "", a.title);
        link.href = a.url;
        item.appendChild(link);
        ul.appendChild(item);
      });
      li.appendChild(ul);
    }
    if (data.handoff) {
      var p = el("p", "bot-handoff");
      var link = el("a", "", t.case + " " + data.handoff.case_number);
      link.href = data.handoff.url;
      link.className = "bot-case";
      p.appendChild(link);
      li.appendChild(p);
    }
    if (data.needs_sign_in) {
      var signin = el("a", "button primary", t.signin);
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

  function ask(text) {
    text = (text || "").trim();
    if (!text) return;
    add("me", text);
    input.value = "";
    send.disabled = true;
    fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept-Language": document.documentElement.lang },
      body: JSON.stringify({ conversation_id: conversationId, text: text })
    })
      .then(function (r) {
        if (r.status === 404) { conversationId = null; window.localStorage.removeItem(storeKey); }
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      })
      .then(function (res) {
        if (!res.ok) { add("bot", res.body.detail || t.error); return; }
        conversationId = res.body.conversation_id;
        window.localStorage.setItem(storeKey, conversationId);
        render(res.body);
      })
      .catch(function () { add("bot", t.error); })
      .finally(function () { send.disabled = false; input.focus(); });
  }

  toggle.addEventListener("click", function () {
    panel.hidden = !panel.hidden;
    if (!panel.hidden) {
      if (!log.children.length) add("bot", t.welcome);
      input.focus();
    }
  });
  close.addEventListener("click", function () { panel.hidden = true; });
  form.addEventListener("submit", function (e) { e.preventDefault(); ask(input.value); });
})();
