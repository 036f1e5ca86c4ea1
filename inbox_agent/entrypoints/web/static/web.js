// The queue refreshes itself: it asks /version every few seconds and, when a commit
// happened (a customer wrote, a colleague acted), reloads its rows. No inline script:
// the Content-Security-Policy allows only this file.
"use strict";
(function () {
  var body = document.body;
  var queue = document.getElementById("queue");
  var interval = parseInt(body.getAttribute("data-poll") || "0", 10);
  if (!queue || !interval) { return; }
  var version = body.getAttribute("data-version");
  var live = document.getElementById("live");

  function check() {
    fetch("/version", { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        if (answer.status === 401) { window.location.assign("/signin"); throw new Error("signed out"); }
        return answer.json();
      })
      .then(function (data) {
        if (String(data.version) === version) { return null; }
        version = String(data.version);
        return fetch(queue.getAttribute("data-rows-url"), { credentials: "same-origin", cache: "no-store" })
          .then(function (answer) { return answer.text(); })
          .then(function (html) {
            // Our own server's HTML (autoescaped by Jinja) for our own page.
            var parsed = new DOMParser().parseFromString(html, "text/html");
            queue.replaceChildren.apply(queue, Array.prototype.slice.call(parsed.body.childNodes));
            if (live) { live.textContent = "Updated " + new Date().toLocaleTimeString(); }
          });
      })
      .catch(function () { /* the next tick tries again */ })
      .then(function () { window.setTimeout(check, interval); });
  }
  window.setTimeout(check, interval);
})();
