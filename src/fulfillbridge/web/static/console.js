// The console's only script: times in the viewer's own zone, the select-all box, and
// auto-refresh of list pages (paused by the button, remembered per browser; never while
// someone is typing or has something selected).
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short"
  });
  document.querySelectorAll("time[datetime]").forEach(function (node) {
    var at = new Date(node.getAttribute("datetime"));
    if (!isNaN(at)) {
      node.title = node.textContent;
      node.textContent = format.format(at);
    }
  });

  var all = document.getElementById("select-all");
  if (all) {
    all.hidden = false;
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=ids]").forEach(function (box) { box.checked = all.checked; });
    });
  }

  var seconds = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
  var toggle = document.getElementById("refresh-toggle");
  if (!seconds || !toggle) { return; }
  var key = "fulfillbridge.refresh.paused";
  function paused() { return window.localStorage.getItem(key) === "1"; }
  function label() { toggle.textContent = paused() ? "resume refresh" : "pause refresh (" + seconds + " s)"; }
  toggle.hidden = false;
  label();
  toggle.addEventListener("click", function () {
    if (paused()) { window.localStorage.removeItem(key); } else { window.localStorage.setItem(key, "1"); }
    label();
  });
  function busy() {
    var active = document.activeElement;
    if (active && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) { return true; }
    return document.querySelector("input[name=ids]:checked") !== null;
  }
  window.setInterval(function () {
    if (!paused() && !busy() && document.visibilityState === "visible") { window.location.reload(); }
  }, seconds * 1000);
})();
