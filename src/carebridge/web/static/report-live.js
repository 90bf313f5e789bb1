/* Live report panels: when a notification about an order arrives over WS /ws/notifications (the
   report was signed, amended, or its critical finding acknowledged), each panel of that order on
   the page reloads itself through htmx; after a reconnect every panel reloads once, in case
   something was missed while the socket was down. Panels also poll every 30 s for people who are
   not the notified ones. Loaded once per page, however many panels it has. */
(function () {
  "use strict";
  if (window.cbReportLive || !window.WebSocket) { return; }
  window.cbReportLive = true;
  var FIRST_DELAY = 1000, MAX_DELAY = 60000, delay = FIRST_DELAY, connectedOnce = false;
  var STOP_CODES = { 4401: true, 4403: true };

  function refresh(orderId) {
    if (!window.htmx) { return; }
    document.querySelectorAll("[data-report-panel]").forEach(function (panel) {
      if (orderId === null || panel.dataset.orderId === orderId) { window.htmx.trigger(panel, "cb-report-changed"); }
    });
  }

  function orderOf(link) {
    var m = typeof link === "string" ? link.match(/^\/diagnosis\/orders\/(\d+)(\/|$)/) : null;
    return m ? m[1] : null;
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws/notifications");
    ws.onmessage = function (event) {
      var m;
      try { m = JSON.parse(event.data); } catch (e) { return; }
      if (m.type === "hello") {
        delay = FIRST_DELAY;
        if (connectedOnce) { refresh(null); }
        connectedOnce = true;
      }
      if (m.type === "notification" && orderOf(m.link)) { refresh(orderOf(m.link)); }
    };
    ws.onclose = function (event) {
      if (STOP_CODES[event.code]) { return; }
      setTimeout(connect, delay + Math.random() * delay / 2);
      delay = Math.min(delay * 2, MAX_DELAY);
    };
  }

  connect();
}());
