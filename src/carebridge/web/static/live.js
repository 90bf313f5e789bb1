/* Live notifications: keeps the unread badge in the top bar current and shows a short toast for
   each new notification, over WS /ws/notifications (the session cookie signs it in). Reconnects
   with growing pauses after a drop; stops for good when the server says the session is over. */
(function () {
  "use strict";
  var badge = document.getElementById("cb-unread");
  if (!badge || !window.WebSocket) { return; }  // signed out pages have no badge
  var script = document.currentScript;
  var dismissLabel = (script && script.dataset.dismiss) || "Dismiss";
  var FIRST_DELAY = 1000, MAX_DELAY = 60000, TOAST_MS = 10000;
  var delay = FIRST_DELAY;
  var STOP_CODES = { 4401: true, 4403: true };  // signed out, or refused: retrying cannot help

  function setUnread(n) {
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.hidden = !n;
  }

  function toastBox() {
    var box = document.getElementById("cb-toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "cb-toasts";
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    return box;
  }

  function safeLink(link) {  // only this site's own paths, never javascript: or another host
    return typeof link === "string" && link.charAt(0) === "/" && link.charAt(1) !== "/" ? link : "";
  }

  function toast(m) {
    var item = document.createElement("div");
    item.className = "toast";
    item.setAttribute("role", "status");
    var title = document.createElement(safeLink(m.link) ? "a" : "strong");
    title.className = "toast-title";
    title.textContent = m.title || "";
    if (safeLink(m.link)) { title.href = m.link; }
    item.appendChild(title);
    if (m.body) {
      var body = document.createElement("div");
      body.className = "toast-body";
      body.textContent = m.body.length > 160 ? m.body.slice(0, 157) + "…" : m.body;
      item.appendChild(body);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", dismissLabel);
    close.textContent = "×";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);
    toastBox().appendChild(item);
    setTimeout(function () { item.remove(); }, TOAST_MS);
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws/notifications");
    ws.onmessage = function (event) {
      var m;
      try { m = JSON.parse(event.data); } catch (e) { return; }
      if (typeof m.unread === "number") { setUnread(m.unread); }
      if (m.type === "hello") { delay = FIRST_DELAY; }
      if (m.type === "notification") { toast(m); }
    };
    ws.onclose = function (event) {
      if (STOP_CODES[event.code]) { return; }
      // Jitter spreads the reconnects of many pages after a server restart.
      setTimeout(connect, delay + Math.random() * delay / 2);
      delay = Math.min(delay * 2, MAX_DELAY);
    };
  }

  connect();
}());
