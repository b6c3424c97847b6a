/* Small behaviours of server-rendered pages, wired by data attributes (the Content-Security-Policy
   allows no inline event handlers and no inline script without the page's nonce). */
(function () {
  "use strict";

  // A fragment fetched after the page (slow back-ends must not hold the page up).
  function loadInto(box, url, failed) {
    return fetch(url, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { if (!r.ok || r.redirected) { throw new Error(String(r.status)); } return r.text(); })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () { box.innerHTML = "<p class=\"muted\"></p>"; box.firstChild.textContent = failed || ""; });
  }

  function init() {
    // <select data-autosubmit>: choosing an option submits its form.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { if (select.form) { select.form.submit(); } });
    });

    // <select data-canned-for="id_body">: the chosen option's data-body is appended to that box.
    document.querySelectorAll("select[data-canned-for]").forEach(function (select) {
      select.addEventListener("change", function () {
        var box = document.getElementById(select.dataset.cannedFor);
        var option = select.options[select.selectedIndex];
        if (!select.value || !box || !option) { return; }
        box.value = (box.value ? box.value + "\n" : "") + (option.dataset.body || "");
        select.value = "";
        box.focus();
      });
    });

    // The customer's wallet account on the agent's identity card.
    var account = document.getElementById("identity-account");
    if (account && account.dataset.url) { loadInto(account, account.dataset.url, account.dataset.failed); }

    // The on-chain check beside a ticket, with its refresh button.
    var card = document.getElementById("wallet-diagnosis");
    if (card && card.dataset.url) {
      var body = card.querySelector(".wallet-diagnosis-body");
      var button = card.querySelector(".wallet-refresh");
      var load = function (refresh) {
        if (button) { button.disabled = true; }
        card.setAttribute("aria-busy", "true");
        loadInto(body, card.dataset.url + (refresh ? "?refresh=1" : ""), card.dataset.failed).then(function () {
          if (button) { button.disabled = false; }
          card.removeAttribute("aria-busy");
        });
      };
      if (button) { button.addEventListener("click", function () { load(true); }); }
      load(false);
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
