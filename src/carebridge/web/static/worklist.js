/* The reading worklist, live: every clock counts down each second (and its colour band follows the
   share of the target used), and every diagnosis_worklist_poll_seconds the page asks for the change stamp
   (no patient data) and reloads its rows through htmx only when they changed, so a study that
   completes appears without a reload. It does not reload while someone has the assign form open. */
(function () {
  "use strict";
  var box = document.getElementById("worklist-results");
  if (!box || !window.htmx) { return; }
  var BANDS = ["band-green", "band-amber", "band-red", "band-breached"];
  var skew = 0;  // the server's clock minus this browser's, so the countdown agrees with the server
  var busy = false;

  function results() { return box.querySelector(".wl-results"); }
  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function clock(seconds) {  // H:MM:SS, as worklist_pages.clock writes it
    var whole = Math.floor(Math.abs(seconds));
    var text = Math.floor(whole / 3600) + ":" + pad(Math.floor(whole % 3600 / 60)) + ":" + pad(whole % 60);
    return seconds < 0 && whole ? "\u2212" + text : text;
  }

  function band(share) {
    return share < 0.5 ? "band-green" : share < 0.8 ? "band-amber" : share < 1 ? "band-red" : "band-breached";
  }

  function tick() {
    var now = Date.now() + skew;
    box.querySelectorAll(".wl-row").forEach(function (row) {
      var left = row.querySelector(".wl-left");
      if (!left) { return; }
      var start = Date.parse(left.dataset.start), due = Date.parse(left.dataset.due);
      var share = due > start ? Math.max(0, (now - start) / (due - start)) : 1;
      left.textContent = clock((due - now) / 1000);
      var wanted = band(share);
      if (!row.classList.contains(wanted)) {
        BANDS.forEach(function (b) { row.classList.remove(b); });
        row.classList.add(wanted);
        row.dataset.band = wanted.slice(5);
      }
      var bar = row.querySelector(".wl-bar > span");
      if (bar) { bar.style.width = Math.min(share, 1) * 100 + "%"; }
    });
  }

  function syncClock() {
    var r = results();
    if (r && r.dataset.now) { skew = Date.parse(r.dataset.now) - Date.now(); }
  }

  function editing() {
    return !!box.querySelector("details[open]");
  }

  function refresh() {
    htmx.ajax("GET", location.pathname + location.search, { target: "#worklist-results", swap: "innerHTML" });
  }

  function poll() {
    var r = results();
    if (busy || document.hidden || !r || !r.dataset.stampUrl || editing()) { return; }
    busy = true;
    fetch(r.dataset.stampUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (body) { if (body && body.stamp !== results().dataset.stamp) { refresh(); } })
      .catch(function () { /* offline for a moment: the next poll tries again */ })
      .finally(function () { busy = false; });
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === box) { syncClock(); tick(); }
  });
  syncClock();
  tick();
  setInterval(tick, 1000);
  var r = results();
  setInterval(poll, Math.max(500, parseInt((r && r.dataset.pollMs) || "1000", 10)));
}());
