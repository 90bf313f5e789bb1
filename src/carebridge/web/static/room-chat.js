/* The consultation room, part 1: shared helpers, the side tabs and the case chat.
   Messages are posted to the API (saved first); everyone in the room receives them from the
   signalling socket after the server committed them (room-call.js hands them to addMessage).
   Loaded as a file because the CSP allows no inline script. */
(function () {
  "use strict";

  var root = document.getElementById("room");
  if (!root) return;
  var strings = JSON.parse(document.getElementById("room-strings").textContent);

  var Room = window.CareRoom = {
    root: root,
    caseId: root.dataset.caseId,
    // The online visit's room runs on these scripts too, with its own API (data-api-base).
    base: root.dataset.apiBase || "/api/v1/consultations/" + root.dataset.caseId,
    csrf: root.dataset.csrf,
    lastMessageId: parseInt(root.dataset.lastMessage || "0", 10),
    t: function (key, values) {
      var text = strings[key] || key;
      Object.keys(values || {}).forEach(function (name) {
        text = text.split("%(" + name + ")s").join(String(values[name]));
      });
      return text;
    },
    el: function (tag, attrs, children) {
      var node = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (name) {
        if (name === "text") node.textContent = attrs[name];
        else node.setAttribute(name, attrs[name]);
      });
      (children || []).forEach(function (child) { if (child) node.appendChild(child); });
      return node;
    },
    api: function (path, options) {
      options = options || {};
      options.credentials = "same-origin";
      options.headers = Object.assign({ "X-CSRF-Token": Room.csrf, "Accept": "application/json" }, options.headers || {});
      return fetch(Room.base + path, options).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) {
            var error = new Error(body.message || response.statusText);
            error.status = response.status;
            error.code = body.code;
            throw error;
          }
          return body;
        });
      });
    }
  };

  // ---- tabs (on a phone they sit under the video; on a laptop beside it) ----
  var tabs = Array.prototype.slice.call(root.querySelectorAll(".room-tab"));
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () {
      tabs.forEach(function (other) {
        var selected = other === tab;
        other.setAttribute("aria-selected", selected ? "true" : "false");
        document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
      });
    });
  });

  // ---- chat ----
  var list = document.getElementById("chat-list");
  var form = document.getElementById("chat-form");
  var text = document.getElementById("chat-text");
  var file = document.getElementById("chat-file");
  var fileName = document.getElementById("chat-file-name");
  var error = document.getElementById("chat-error");
  var me = parseInt(root.dataset.userId || "0", 10);

  // China Standard Time, as the server renders every time (the network is in one time zone).
  var chinaTime = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  function shortTime(iso) {
    var p = {};
    chinaTime.formatToParts(new Date(iso)).forEach(function (part) { p[part.type] = part.value; });
    return p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
  }

  function attachmentNode(attachment) {
    var children = [];
    if (attachment.media_type.indexOf("image/") === 0) {
      children.push(Room.el("a", { href: attachment.url, target: "_blank", rel: "noopener" },
        [Room.el("img", { src: attachment.url, alt: attachment.name, loading: "lazy" })]));
    }
    children.push(Room.el("a", { href: attachment.url, target: "_blank", rel: "noopener", "data-testid": "chat-attachment",
      text: attachment.name }));
    children.push(Room.el("small", { "class": "muted", text: (attachment.size / 1024).toFixed(1) + " KB" }));
    return Room.el("div", { "class": "chat-attachment" }, children);
  }

  Room.addMessage = function (message) {
    if (list.querySelector('[data-message-id="' + message.id + '"]')) return;  // posted here and pushed back
    var meta = Room.el("div", { "class": "chat-meta" }, [
      Room.el("strong", { text: message.author_name }), document.createTextNode(" "),
      Room.el("time", { datetime: message.created_at, text: shortTime(message.created_at) })]);
    var item = Room.el("li", { "class": "chat-msg" + (message.author_user_id === me ? " chat-mine" : ""),
      "data-message-id": message.id, "data-testid": "chat-message" }, [
      meta, message.text ? Room.el("div", { "class": "chat-text", text: message.text }) : null,
      message.attachment ? attachmentNode(message.attachment) : null]);
    list.appendChild(item);
    Room.lastMessageId = Math.max(Room.lastMessageId, message.id);
    list.scrollTop = list.scrollHeight;
  };

  // After a reconnect: whatever was said while this browser was away.
  Room.catchUp = function () {
    return Room.api("/messages?after=" + Room.lastMessageId).then(function (body) {
      body.items.forEach(Room.addMessage);
    }).catch(function () { /* the next reconnect tries again */ });
  };

  function showError(message) {
    error.textContent = message ? Room.t("send_failed", { reason: message }) : "";
    error.hidden = !message;
  }

  file.addEventListener("change", function () {
    fileName.textContent = file.files.length ? file.files[0].name : "";
  });

  text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {  // IME composition keeps Enter
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = text.value.trim();
    var chosen = file.files.length ? file.files[0] : null;
    if (!body && !chosen) return;
    var request;
    if (chosen) {
      var data = new FormData();
      data.append("file", chosen);
      data.append("text", body);
      request = Room.api("/messages/attachments", { method: "POST", body: data });
    } else {
      request = Room.api("/messages", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text: body }) });
    }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    request.then(function (message) {
      Room.addMessage(message);
      text.value = "";
      file.value = "";
      fileName.textContent = "";
      showError("");
    }).catch(function (failure) {
      showError(failure.message);  // the typed text stays in the box: nothing is lost
    }).then(function () { button.disabled = false; });
  });

  list.scrollTop = list.scrollHeight;
})();
