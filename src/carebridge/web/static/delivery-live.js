/* Live medicine order page: when the order moves (the pharmacy packs it, the courier reports a scan,
   it is delivered), the server pushes {"type": "delivery", "order_id": ...} to the patient's
   notifications socket after commit, and the order panel reloads itself through htmx. After a
   reconnect it reloads once, in case something happened while the socket was down. */
(function () {
  "use strict";
  if (window.cbDeliveryLive || !window.WebSocket) { return; }
  window.cbDeliveryLive = true;
  var FIRST_DELAY = 1000, MAX_DELAY = 60000, delay = FIRST_DELAY, connectedOnce = false;
  var STOP_CODES = { 4401: true, 4403: true };

  function refresh(orderId) {
    if (!window.htmx) { return; }
    document.querySelectorAll("[data-delivery-order]").forEach(function (panel) {
      if (orderId === null || panel.dataset.deliveryOrder === String(orderId)) {
        window.htmx.trigger(panel, "cb-delivery-changed");
      }
    });
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
      if (m.type === "delivery" && m.order_id) { refresh(m.order_id); }
    };
    ws.onclose = function (event) {
      if (STOP_CODES[event.code]) { return; }
      setTimeout(connect, delay + Math.random() * delay / 2);
      delay = Math.min(delay * 2, MAX_DELAY);
    };
  }

  connect();
}());
