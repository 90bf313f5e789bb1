/* The consultation room, part 4: the call. A mesh of up to 6: one RTCPeerConnection per other
   participant. Who offers is decided by arrival: a newcomer (the `welcome` lists who is already
   there) offers to each of them, and those already present only answer, so two peers never offer
   to each other at once. A dropped signalling socket is reopened with backoff and a fresh token;
   the browser then arrives as a newcomer again and rebuilds its connections, while media may keep
   flowing meanwhile. A failed ICE path is restarted by the side that offered. */
(function () {
  "use strict";

  var Room = window.CareRoom;
  if (!Room || Room.root.dataset.open !== "true") return;
  var $ = function (id) { return document.getElementById(id); };
  var media = Room.media;
  var tiles = $("tiles"), statusLine = $("status"), timerLine = $("timer");
  var peers = {};          // member id -> peer
  var members = {};        // member id -> member, from the latest presence
  var me = null, socket = null, iceServers = [], leaving = false, retries = 0, retryTimer = null;
  var sessionStart = null, clock = null;
  var FATAL = { 4403: "refused", 4409: "room_full" };

  var call = Room.call = {};

  Room.notify = function (text) { setStatus("warn", text); };

  function setStatus(kind, text) {
    statusLine.textContent = text;
    statusLine.dataset.state = kind;
    Room.root.dataset.connection = kind;
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  // ---- tiles ----
  function tileFor(peer) {
    var video = Room.el("video", { autoplay: "", playsinline: "", "class": "room-video" });
    var tile = Room.el("figure", { "class": "tile no-video", "data-member-id": peer.member.id, "data-testid": "tile-remote" }, [
      video, Room.el("div", { "class": "tile-avatar", "aria-hidden": "true", text: (peer.member.display_name || "?").slice(0, 1) }),
      Room.el("figcaption", {}, [Room.el("span", { "class": "tile-name", text: peer.member.display_name }),
        Room.el("span", { "class": "tile-flags" }), Room.el("span", { "class": "tile-status", text: Room.t("peer_connecting") })])]);
    video.srcObject = peer.stream;
    video.addEventListener("loadedmetadata", function () { tile.classList.remove("no-video"); play(video); });
    tiles.appendChild(tile);
    tiles.dataset.count = String(tiles.children.length);
    return tile;
  }

  function play(video) {
    video.play().catch(function () {
      // Autoplay with sound refused: play muted, and let one tap bring the sound back.
      video.muted = true;
      video.play();
      video.parentNode.addEventListener("click", function () { video.muted = false; }, { once: true });
    });
  }

  function showRemoteState(peer, state) {
    var flags = [];
    if (!state.mic) flags.push(Room.t("muted"));
    if (state.screen) flags.push(Room.t("sharing"));
    peer.tile.querySelector(".tile-flags").textContent = flags.join(" · ");
    peer.tile.dataset.mic = state.mic ? "on" : "off";
    peer.tile.dataset.cam = state.cam ? "on" : "off";
    peer.tile.classList.toggle("no-video", !state.cam);
    peer.tile.classList.toggle("screen", !!state.screen);
  }

  // ---- peers ----
  function createPeer(member, offerer) {
    var pc = new RTCPeerConnection({ iceServers: iceServers });
    var peer = peers[member.id] = { member: member, pc: pc, offerer: offerer, stream: new MediaStream(),
      chain: Promise.resolve(), pending: [], videoSender: null, channel: null, lostTimer: null };
    peer.tile = tileFor(peer);
    if (offerer) {
      pc.addTransceiver(media.mic || "audio", { direction: "sendrecv", streams: [media.stream] });
      peer.videoSender = pc.addTransceiver(media.videoTrack() || "video", { direction: "sendrecv", streams: [media.stream] }).sender;
      useChannel(peer, pc.createDataChannel("state"));
    } else {
      pc.ondatachannel = function (event) { useChannel(peer, event.channel); };
    }
    pc.onicecandidate = function (event) {
      send({ type: "ice", to: member.id, candidate: event.candidate ? event.candidate.toJSON() : null });
    };
    pc.ontrack = function (event) {
      peer.stream.addTrack(event.track);
      var video = peer.tile.querySelector("video");
      if (video.srcObject !== peer.stream) video.srcObject = peer.stream;
    };
    pc.onconnectionstatechange = function () { watchConnection(peer); };
    return peer;
  }

  function useChannel(peer, channel) {
    peer.channel = channel;
    channel.onopen = function () { channel.send(JSON.stringify(media.state())); };
    channel.onmessage = function (event) {
      try { showRemoteState(peer, JSON.parse(event.data)); } catch (ignored) { /* not ours */ }
    };
  }

  function broadcastState() {
    Object.keys(peers).forEach(function (id) {
      var channel = peers[id].channel;
      if (channel && channel.readyState === "open") channel.send(JSON.stringify(media.state()));
    });
  }

  function watchConnection(peer) {
    var state = peer.pc.connectionState;
    var status = peer.tile.querySelector(".tile-status");
    status.textContent = state === "connected" ? "" : Room.t(state === "new" || state === "connecting" ? "peer_connecting" : "peer_lost");
    peer.tile.dataset.connection = state;
    clearTimeout(peer.lostTimer);
    if (state === "failed" || state === "disconnected") {
      // "disconnected" often heals by itself within seconds; after that, the offerer restarts ICE.
      peer.lostTimer = setTimeout(function () {
        if (peer.offerer) { peer.pc.restartIce(); offer(peer, true); }
        // Still nothing a while later: the signalling path is probably dead too; start over.
        peer.lostTimer = setTimeout(function () {
          if (peer.pc.connectionState !== "connected" && socket) socket.close(4000, "ice failed");
        }, 10000);
      }, state === "failed" ? 0 : 3000);
    }
  }

  function queue(peer, step) {
    peer.chain = peer.chain.then(step).catch(function (failure) { console.warn("room:", failure); });
  }

  function offer(peer, restart) {
    queue(peer, function () {
      return peer.pc.createOffer(restart ? { iceRestart: true } : {}).then(function (description) {
        return peer.pc.setLocalDescription(description);
      }).then(function () { send({ type: "offer", to: peer.member.id, sdp: peer.pc.localDescription.sdp }); });
    });
  }

  function flushCandidates(peer) {
    var waiting = peer.pending.splice(0);
    return Promise.all(waiting.map(function (c) { return peer.pc.addIceCandidate(c); }));
  }

  function onOffer(message) {
    var peer = peers[message.from] || createPeer(members[message.from] || { id: message.from, display_name: "" }, false);
    queue(peer, function () {
      return peer.pc.setRemoteDescription({ type: "offer", sdp: message.sdp }).then(function () {
        if (!peer.videoSender) {  // first offer: answer with our own tracks on the offered transceivers
          peer.pc.getTransceivers().forEach(function (transceiver) {
            var kind = transceiver.receiver.track.kind;
            transceiver.direction = "sendrecv";
            transceiver.sender.replaceTrack(kind === "audio" ? media.mic : media.videoTrack());
            if (kind === "video") peer.videoSender = transceiver.sender;
          });
        }
        return flushCandidates(peer);
      }).then(function () { return peer.pc.createAnswer(); })
        .then(function (answer) { return peer.pc.setLocalDescription(answer); })
        .then(function () { send({ type: "answer", to: message.from, sdp: peer.pc.localDescription.sdp }); });
    });
  }

  function onAnswer(message) {
    var peer = peers[message.from];
    if (!peer) return;
    queue(peer, function () {
      return peer.pc.setRemoteDescription({ type: "answer", sdp: message.sdp }).then(function () { return flushCandidates(peer); });
    });
  }

  function onIce(message) {
    var peer = peers[message.from];
    if (!peer || !message.candidate) return;
    queue(peer, function () {
      if (!peer.pc.remoteDescription) { peer.pending.push(message.candidate); return null; }
      return peer.pc.addIceCandidate(message.candidate);
    });
  }

  function removePeer(id) {
    var peer = peers[id];
    if (!peer) return;
    clearTimeout(peer.lostTimer);
    peer.pc.close();
    peer.tile.remove();
    delete peers[id];
    tiles.dataset.count = String(tiles.children.length);
  }

  function removeAllPeers() { Object.keys(peers).forEach(removePeer); }

  // Called on every change of this browser's media (mute, camera, audio only, screen).
  media.onChange(function (track) {
    Object.keys(peers).forEach(function (id) {
      var sender = peers[id].videoSender;
      if (sender) sender.replaceTrack(track).catch(function () {});
    });
    broadcastState();
  });

  // ---- presence ----
  function showPresence(list) {
    members = {};
    var ul = $("presence");
    ul.replaceChildren();
    list.forEach(function (member) {
      members[member.id] = member;
      var mine = me && member.id === me.id;
      ul.appendChild(Room.el("li", { "data-testid": "presence-member", "class": mine ? "presence-me" : "" },
        [Room.el("span", { "class": "presence-dot", "aria-hidden": "true" }),
         document.createTextNode(member.display_name + (mine ? " (" + Room.t("you") + ")" : ""))]));
    });
    $("presence-empty").hidden = list.length > 0;
    $("people-count").textContent = list.length ? "(" + list.length + ")" : "";
    // A member the server no longer lists is gone, even if its "leave" never reached us.
    Object.keys(peers).forEach(function (id) { if (!members[id]) removePeer(id); });
  }

  // ---- the signalling socket ----
  var handlers = {
    welcome: function (message) {
      me = message.you;
      retries = 0;
      setStatus("ok", Room.t("connected"));
      removeAllPeers();  // connections from before a reconnect belong to our old member id
      showPresence(message.members);
      message.members.forEach(function (member) { if (member.id !== me.id) offer(createPeer(member, true), false); });
      Room.catchUp();
    },
    join: function (message) { members[message.member.id] = message.member; },
    presence: function (message) { showPresence(message.members); },
    leave: function (message) { removePeer(message.member.id); },
    offer: onOffer,
    answer: onAnswer,
    ice: onIce,
    message: function (message) { Room.addMessage(message.message); }
  };

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    setStatus(retries ? "warn" : "busy", Room.t(retries ? "reconnecting" : "connecting"));
    Room.api("/room/token", { method: "POST" }).then(function (pass) {
      if (leaving) return;
      iceServers = pass.ice.ice_servers.map(function (s) { return { urls: s.urls, username: s.username || undefined, credential: s.credential || undefined }; });
      startClock(pass.session_started_at);
      if (pass.case_state === "in_session") document.querySelector("[data-testid=room-case-state]").textContent = Room.t("in_session");
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + pass.ws_path + "?token=" + encodeURIComponent(pass.token));
      socket.onmessage = function (event) {
        var message = JSON.parse(event.data);
        if (handlers[message.type]) handlers[message.type](message);
      };
      socket.onclose = function (event) { socket = null; onClosed(event.code, event.reason); };
    }).catch(function (failure) {
      // Refused (no longer a participant, the case moved on, signed out): retrying will not help.
      if (failure.status && failure.status < 500) ended(Room.t("refused", { reason: failure.message }));
      else retry();
    });
  }

  function onClosed(code, reason) {
    if (leaving) return;
    if (FATAL[code]) { ended(FATAL[code] === "room_full" ? Room.t("room_full") : Room.t("refused", { reason: reason })); return; }
    retry();
  }

  function retry() {
    if (leaving || retryTimer) return;
    setStatus("warn", Room.t("reconnecting"));
    var delay = Math.min(15000, 1000 * Math.pow(2, retries)) * (0.75 + Math.random() / 2);
    retries += 1;
    retryTimer = setTimeout(connect, delay);
  }

  window.addEventListener("online", function () { if (retryTimer) { retries = Math.max(retries, 1); connect(); } });
  window.addEventListener("offline", function () { if (socket) socket.close(4000, "offline"); });

  // ---- the session clock ----
  function startClock(startedAt) {
    if (clock) return;
    sessionStart = startedAt ? Date.parse(startedAt) : Date.now();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var tick = function () {
      var s = Math.max(0, Math.floor((Date.now() - sessionStart) / 1000));
      var h = Math.floor(s / 3600);
      timerLine.textContent = (h ? h + ":" : "") + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
    };
    tick();
    clock = setInterval(tick, 1000);
  }

  // ---- start and end ----
  call.start = function (stream, options) {
    $("precall").hidden = true;
    $("call").hidden = false;
    media.adopt(stream, options);
    if (options && options.noCamera) Room.notify(Room.t("no_camera"));
    connect();
  };

  function ended(text) {
    leaving = true;
    clearTimeout(retryTimer);
    clearInterval(clock);
    if (socket) { send({ type: "leave" }); socket.close(1000, "left"); }
    removeAllPeers();
    media.stop();
    $("call").hidden = true;
    $("left").hidden = false;
    $("left-text").textContent = text;
    showPresence([]);
  }

  $("leave").addEventListener("click", function () { ended(Room.t("left")); });
  $("rejoin").addEventListener("click", function () { location.reload(); });
  window.addEventListener("pagehide", function () { if (!leaving && socket) { send({ type: "leave" }); socket.close(1000); } });
})();
