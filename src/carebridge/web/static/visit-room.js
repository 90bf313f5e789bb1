/* The online visit's room, on top of the consultation room's scripts (room-chat, room-check,
   room-media, room-call; the API base comes from data-api-base): the text-only way in when the
   camera or microphone fails, the waiting-room notice until the doctor's video arrives, and the
   visit's state kept fresh (the chat opens once the patient is in the waiting room; the page
   reloads when the visit ends, to show the doctor's note). Text visits connect in visit-text.js. */
(function () {
  "use strict";

  var Room = window.CareRoom;
  if (!Room) return;
  var $ = function (id) { return document.getElementById(id); };
  var root = Room.root, waiting = $("visit-waiting"), tiles = $("tiles"), chatForm = $("chat-form");
  var OPEN = ["checked_in", "in_progress"], ENDED = ["completed", "cancelled", "no_show"];
  var state = root.dataset.state;

  function showState(next) {
    if (next === state) return;
    state = next;
    root.dataset.state = next;
    var label = document.querySelector("[data-testid=visit-state]");
    if (label) label.textContent = Room.t("state_" + next);
    if (chatForm) chatForm.hidden = OPEN.indexOf(next) < 0;
    if (ENDED.indexOf(next) >= 0 && root.dataset.side === "patient") {
      if (Room.notify) Room.notify(Room.t("ended"));
      setTimeout(function () { location.assign(root.dataset.after || location.href); }, 1500);
    }
    // The doctor's console opened before the patient arrived has no room yet: load it now.
    if (root.dataset.side === "doctor" && root.dataset.open !== "true" && OPEN.indexOf(next) >= 0) location.reload();
  }

  function poll() {
    Room.api("", { method: "GET" }).then(function (visit) { showState(visit.state); })
      .catch(function () { /* next time */ });
  }
  setInterval(poll, 4000);

  // Entering the room is a move (check-in, start): show the new state at once, not at the next poll.
  var call = $("call");
  var soon = function () { poll(); setTimeout(poll, 1500); };  // the token request is still on its way
  if (call) new MutationObserver(soon).observe(call, { attributes: true, attributeFilter: ["hidden"] });

  // The patient waits alone in the room until the doctor's tile appears.
  if (waiting && tiles) {
    var update = function () {
      waiting.hidden = call.hidden || !!tiles.querySelector("[data-testid=tile-remote]");
    };
    new MutationObserver(update).observe(tiles, { childList: true });
    new MutationObserver(update).observe(call, { attributes: true, attributeFilter: ["hidden"] });
  }

  var textOnly = $("text-only"), join = $("join");
  if (textOnly && join && Room.check) {
    textOnly.addEventListener("click", function () {
      // No camera or microphone: enter with nothing to send; the chat and the doctor's video still work.
      if (Room.check.stream) Room.check.stream.getTracks().forEach(function (track) { track.stop(); });
      Room.check.stream = null;
      Room.check.noCamera = true;
      join.disabled = false;
      join.click();
      Room.notify(Room.t("text_only_joined"));
    });
  }
})();
