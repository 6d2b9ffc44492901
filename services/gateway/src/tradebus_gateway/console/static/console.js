/* Polite polling for the console's live parts (`#live`, polled by htmx's
 * `every Ns`): no request while the tab is hidden, and one as soon as it shows again;
 * after a failure the next poll waits twice as long, up to a minute, and the page says
 * its figures are stale; once the server answers 401 (the session ended) polling stops
 * for good and the page goes to the login (htmx follows the answer's HX-Redirect).
 * A file of its own: the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";
  var MAX_WAIT_MS = 60000;
  var failures = 0;
  var notBefore = 0;
  var ended = false;

  function isPoll(elt) {
    return !!elt && elt.id === "live" && elt.hasAttribute("hx-get");
  }

  function pollMs(elt) {
    var every = /every\s+(\d+)s/.exec(elt.getAttribute("hx-trigger") || "");
    return every ? Number(every[1]) * 1000 : 2000;
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    if (!isPoll(evt.detail.elt)) return;
    if (ended || document.hidden || Date.now() < notBefore) evt.preventDefault();
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!isPoll(elt)) return;
    var xhr = evt.detail.xhr;
    if (xhr && xhr.status === 401) {
      ended = true;
      document.body.classList.add("ended");
      if (!xhr.getResponseHeader("HX-Redirect")) window.location.assign("/console/login");
      return;
    }
    if (evt.detail.successful) {
      failures = 0;
      notBefore = 0;
      document.body.classList.remove("stale");
      return;
    }
    failures += 1;
    notBefore = Date.now() + Math.min(MAX_WAIT_MS, pollMs(elt) * Math.pow(2, failures));
    document.body.classList.add("stale");
  });

  document.addEventListener("visibilitychange", function () {
    var live = document.getElementById("live");
    if (document.hidden || ended || !isPoll(live) || !window.htmx) return;
    notBefore = 0; // back in view: ask now rather than at the next tick
    window.htmx.trigger(live, "refresh-live");
  });
})();
