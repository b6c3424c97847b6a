// Live-ish preview for the article admin: re-render the body a moment after typing stops.
// The server sanitises the HTML (nh3) before it is inserted here.
(function () {
  "use strict";
  function start() {
    var pane = document.getElementById("hc-preview");
    var source = document.getElementById("id_body_markdown");
    var tokenInput = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (!pane || !source || !tokenInput) { return; }
    var timer = null;
    var sent = 0;
    source.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++sent;
        var body = new URLSearchParams();
        body.set("body_markdown", source.value);
        fetch(pane.dataset.url, {
          method: "POST",
          headers: { "X-CSRFToken": tokenInput.value },
          body: body,
          credentials: "same-origin",
        })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (data) {
            if (data && mine === sent) { pane.innerHTML = data.html; }
          });
      }, 400);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
