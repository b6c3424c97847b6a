/* Every page: on a narrow screen the header's links fold behind the menu button.
   Without JavaScript the button stays hidden and the links wrap as they always did. */
(function () {
  "use strict";
  var header = document.querySelector("header.topbar");
  var button = header && header.querySelector(".nav-toggle");
  var nav = document.getElementById("site-nav");
  if (!button || !nav) return;
  header.classList.add("js-nav");
  button.hidden = false;
  function setOpen(open) {
    header.classList.toggle("nav-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && header.classList.contains("nav-open")) {
      setOpen(false);
      button.focus();
    }
  });
})();
