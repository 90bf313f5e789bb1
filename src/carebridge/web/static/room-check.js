/* The consultation room, part 2: the check before joining. Choose camera and microphone, see
   yourself, watch the microphone level, and test the network: a round trip to the server and ICE
   gathering with the configured STUN/TURN servers. Without a camera the user joins with audio
   only; without any device they can still join to watch and listen. */
(function () {
  "use strict";

  var Room = window.CareRoom;
  if (!Room || Room.root.dataset.open !== "true") return;
  var $ = function (id) { return document.getElementById(id); };
  var preview = $("preview"), cameraSelect = $("camera-select"), micSelect = $("mic-select");
  var meter = $("mic-meter"), audioOnlyBox = $("audio-only"), netList = $("net-check");
  var problem = $("precall-error"), joinButton = $("join");
  var check = Room.check = { stream: null, audioOnly: false, noCamera: false, videoConstraints: videoConstraints };
  var audioContext = null, meterTimer = null, opening = 0;

  function stopTracks(stream) {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
  }

  function say(text) {
    problem.textContent = text || "";
    problem.hidden = !text;
  }

  function videoConstraints() {
    var wanted = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } };
    if (cameraSelect.value) wanted.deviceId = { exact: cameraSelect.value };
    return wanted;
  }

  function audioConstraints() {
    var wanted = { echoCancellation: true, noiseSuppression: true };
    if (micSelect.value) wanted.deviceId = { exact: micSelect.value };
    return wanted;
  }

  // Camera and microphone together; then the microphone alone; then nothing.
  function getMedia(withVideo) {
    var devices = navigator.mediaDevices;
    if (!devices || !devices.getUserMedia) return Promise.reject(new Error("no media devices"));
    if (!withVideo) return devices.getUserMedia({ audio: audioConstraints(), video: false });
    return devices.getUserMedia({ audio: audioConstraints(), video: videoConstraints() }).catch(function () {
      check.noCamera = true;
      return devices.getUserMedia({ audio: audioConstraints(), video: false });
    });
  }

  function fillSelect(select, devices, kind) {
    var current = select.value;
    select.replaceChildren();
    devices.filter(function (d) { return d.kind === kind; }).forEach(function (device, i) {
      select.appendChild(Room.el("option", { value: device.deviceId, text: device.label || kind + " " + (i + 1) }));
    });
    if (current) select.value = current;
    select.disabled = !select.options.length;
  }

  function listDevices() {
    return navigator.mediaDevices.enumerateDevices().then(function (devices) {
      fillSelect(cameraSelect, devices, "videoinput");
      fillSelect(micSelect, devices, "audioinput");
      if (!cameraSelect.options.length) check.noCamera = true;
    });
  }

  function startMeter(stream) {
    clearInterval(meterTimer);
    meter.value = 0;
    if (!stream || !stream.getAudioTracks().length || !window.AudioContext) return;
    audioContext = audioContext || new AudioContext();
    var analyser = audioContext.createAnalyser();
    analyser.fftSize = 512;
    audioContext.createMediaStreamSource(stream).connect(analyser);
    var samples = new Float32Array(analyser.fftSize);
    meterTimer = setInterval(function () {
      analyser.getFloatTimeDomainData(samples);
      var sum = 0;
      for (var i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
      meter.value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
    }, 100);
  }

  function openMedia() {
    var mine = ++opening;  // a later choice wins over a slower earlier one
    stopTracks(check.stream);
    check.stream = null;
    joinButton.disabled = true;
    check.noCamera = false;
    return getMedia(!audioOnlyBox.checked).then(function (stream) {
      if (mine !== opening) { stopTracks(stream); return; }
      check.stream = stream;
      say(check.noCamera && !audioOnlyBox.checked ? Room.t("no_camera") : "");
      return listDevices();
    }).catch(function () {
      if (mine === opening) say(Room.t("no_media"));
    }).then(function () {
      if (mine !== opening) return;
      var hasVideo = !!(check.stream && check.stream.getVideoTracks().length);
      check.audioOnly = !hasVideo;
      preview.srcObject = hasVideo ? check.stream : null;
      preview.hidden = !hasVideo;
      $("preview-none").hidden = hasVideo;
      startMeter(check.stream);
      joinButton.disabled = false;
    });
  }

  function addResult(text, ok) {
    netList.appendChild(Room.el("li", { "class": ok ? "net-ok" : "net-bad", text: text }));
  }

  function candidateType(candidate) {
    if (candidate.type) return candidate.type;
    var match = / typ (\w+)/.exec(candidate.candidate || "");
    return match ? match[1] : "";
  }

  function gatherIce(iceServers) {
    return new Promise(function (resolve) {
      var pc = new RTCPeerConnection({ iceServers: iceServers });
      var kinds = {};
      var done = function () { pc.close(); resolve(Object.keys(kinds)); };
      var timer = setTimeout(done, 5000);
      pc.onicecandidate = function (event) {
        if (!event.candidate) { clearTimeout(timer); done(); return; }
        var kind = candidateType(event.candidate);
        if (kind) kinds[kind] = true;
      };
      pc.createDataChannel("probe");
      pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); })
        .catch(function () { clearTimeout(timer); done(); });
    });
  }

  function checkNetwork() {
    netList.replaceChildren(Room.el("li", { "class": "muted", text: Room.t("checking") }));
    var started = performance.now();
    return fetch("/api/v1/realtime/ice-servers", { credentials: "same-origin" }).then(function (response) {
      var ms = Math.round(performance.now() - started);
      return response.json().then(function (body) {
        netList.replaceChildren();
        addResult(Room.t("rtt", { ms: ms }), response.ok && ms < 1000);
        return gatherIce(body.ice_servers || []);
      });
    }).then(function (kinds) {
      var names = kinds.filter(function (k) { return ["host", "srflx", "relay"].indexOf(k) >= 0; })
        .map(function (k) { return Room.t("ice_" + k); });
      addResult(names.length ? Room.t("ice_ok", { kinds: names.join(", ") }) : Room.t("ice_none"), names.length > 0);
    }).catch(function (failure) {
      netList.replaceChildren();
      addResult(Room.t("ice_none") + " (" + failure.message + ")", false);
    });
  }

  cameraSelect.addEventListener("change", openMedia);
  micSelect.addEventListener("change", openMedia);
  audioOnlyBox.addEventListener("change", openMedia);
  $("recheck").addEventListener("click", function () { openMedia(); checkNetwork(); });

  joinButton.addEventListener("click", function () {
    clearInterval(meterTimer);
    preview.srcObject = null;
    // The call owns the stream from here; the check's audio graph is no longer needed.
    if (audioContext) { audioContext.close(); audioContext = null; }
    Room.call.start(check.stream, { audioOnly: check.audioOnly || audioOnlyBox.checked, noCamera: check.noCamera });
    check.stream = null;
  });

  openMedia();
  checkNetwork();
})();
