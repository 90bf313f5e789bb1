/* A text visit: no camera, no microphone, only the chat of the visit's room. Entering asks for the
   room token (for the patient that is entering the waiting room; for the doctor, starting the
   visit), then listens on the room's socket for messages saved by the server, reconnecting with
   backoff and catching up on what was said meanwhile. */
(function () {
  "use strict";

  var Room = window.CareRoom;
  if (!Room || Room.root.dataset.open !== "true") return;
  var $ = function (id) { return document.getElementById(id); };
  var enter = $("text-join"), statusLine = $("status"), socket = null, retries = 0, leaving = false;

  function setStatus(kind, text) {
    statusLine.textContent = text;
    statusLine.dataset.state = kind;
    Room.root.dataset.connection = kind;
  }
  Room.notify = function (text) { setStatus("warn", text); };

  function showPresence(members) {
    var list = $("presence");
    list.replaceChildren();
    members.forEach(function (member) {
      list.appendChild(Room.el("li", { "data-testid": "presence-member", text: member.display_name }));
    });
    $("people-count").textContent = members.length ? "(" + members.length + ")" : "";
    $("presence-empty").hidden = members.length > 0;
  }

  function connect() {
    setStatus(retries ? "warn" : "busy", Room.t(retries ? "reconnecting" : "connecting"));
    Room.api("/room/token", { method: "POST" }).then(function (pass) {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + pass.ws_path + "?token=" + encodeURIComponent(pass.token));
      socket.onmessage = function (event) {
        var message = JSON.parse(event.data);
        if (message.type === "welcome") {
          retries = 0;
          setStatus("ok", Room.t("connected"));
          showPresence(message.members);
          $("chat-form").hidden = false;
          Room.catchUp();
        } else if (message.type === "presence") {
          showPresence(message.members);
        } else if (message.type === "message") {
          Room.addMessage(message.message);
        }
      };
      socket.onclose = function () {
        socket = null;
        if (leaving) return;
        retries += 1;
        setTimeout(connect, Math.min(15000, 1000 * Math.pow(2, retries)));
      };
    }).catch(function (failure) {
      if (failure.status && failure.status < 500) { setStatus("warn", Room.t("refused", { reason: failure.message })); return; }
      retries += 1;
      setTimeout(connect, Math.min(15000, 1000 * Math.pow(2, retries)));
    });
  }

  enter.addEventListener("click", function () { enter.hidden = true; connect(); });
  window.addEventListener("pagehide", function () { leaving = true; if (socket) socket.close(1000); });
})();
