/* The consultation room, part 3: this browser's own media during the call. Mute, camera off,
   audio only and screen sharing never renegotiate: every peer connection keeps one audio and one
   video sender, and these controls only enable a track or swap it with replaceTrack. */
(function () {
  "use strict";

  var Room = window.CareRoom;
  if (!Room || Room.root.dataset.open !== "true") return;
  var $ = function (id) { return document.getElementById(id); };
  var selfVideo = $("self-video"), selfTile = $("tile-self");
  var buttons = { mic: $("toggle-mic"), cam: $("toggle-cam"), screen: $("toggle-screen"), audioOnly: $("toggle-audio-only") };
  var listeners = [];

  var media = Room.media = {
    stream: new MediaStream(),  // what peers are sent: the microphone and the current video track
    mic: null, camera: null, screen: null,
    muted: false, cameraOff: false, audioOnly: false,

    videoTrack: function () { return media.screen || media.camera; },
    state: function () {
      return { mic: !!media.mic && !media.muted, cam: !!media.videoTrack() && (!!media.screen || !media.cameraOff),
        screen: !!media.screen };
    },
    onChange: function (listener) { listeners.push(listener); },  // called with the video track to send

    adopt: function (stream, options) {
      if (stream) {
        media.mic = stream.getAudioTracks()[0] || null;
        media.camera = stream.getVideoTracks()[0] || null;
      }
      media.audioOnly = !media.camera;
      if (options && options.noCamera) buttons.audioOnly.disabled = true;
      rebuild();
    },

    stop: function () {
      [media.mic, media.camera, media.screen].forEach(function (t) { if (t) t.stop(); });
      media.mic = media.camera = media.screen = null;
      selfVideo.srcObject = null;
    }
  };

  var shown = { mic: undefined, video: undefined };

  function rebuild() {
    if (shown.mic !== media.mic || shown.video !== media.videoTrack()) {  // muting alone must not flicker
      var stream = new MediaStream();
      if (media.mic) stream.addTrack(media.mic);
      if (media.videoTrack()) stream.addTrack(media.videoTrack());
      media.stream = stream;
      selfVideo.srcObject = media.videoTrack() ? stream : null;
      shown = { mic: media.mic, video: media.videoTrack() };
    }
    selfTile.classList.toggle("no-video", !media.state().cam);
    selfTile.classList.toggle("screen", !!media.screen);
    selfVideo.classList.toggle("mirror", !media.screen);  // a mirrored screen would be unreadable
    label();
    listeners.forEach(function (listener) { listener(media.videoTrack()); });
  }

  function press(button, pressed, text) {
    button.setAttribute("aria-pressed", pressed ? "true" : "false");
    button.textContent = text;
  }

  function label() {
    press(buttons.mic, media.muted, Room.t(media.muted ? "unmute" : "mute"));
    press(buttons.cam, media.cameraOff, Room.t(media.cameraOff ? "camera_on" : "camera_off"));
    press(buttons.screen, !!media.screen, Room.t(media.screen ? "stop_share" : "share"));
    press(buttons.audioOnly, media.audioOnly, Room.t(media.audioOnly ? "video_on" : "audio_only"));
    buttons.mic.disabled = !media.mic;
    buttons.cam.disabled = !media.camera;
    var flags = [];
    if (media.muted || !media.mic) flags.push(Room.t("muted"));
    if (media.screen) flags.push(Room.t("sharing"));
    selfTile.querySelector(".tile-flags").textContent = flags.join(" · ");
  }

  buttons.mic.addEventListener("click", function () {
    media.muted = !media.muted;
    if (media.mic) media.mic.enabled = !media.muted;
    rebuild();
  });

  buttons.cam.addEventListener("click", function () {
    media.cameraOff = !media.cameraOff;
    // A disabled track sends black frames and keeps the camera ready to come straight back.
    if (media.camera) media.camera.enabled = !media.cameraOff;
    rebuild();
  });

  buttons.audioOnly.addEventListener("click", function () {
    if (!media.audioOnly) {
      // Audio only releases the camera and sends no video at all: for a weak network.
      if (media.camera) media.camera.stop();
      media.camera = null;
      media.audioOnly = true;
      rebuild();
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: Room.check.videoConstraints() }).then(function (stream) {
      media.camera = stream.getVideoTracks()[0];
      media.camera.enabled = !media.cameraOff;
      media.audioOnly = false;
      rebuild();
    }).catch(function () { Room.notify(Room.t("no_camera")); });
  });

  function stopSharing() {
    if (!media.screen) return;
    media.screen.onended = null;
    media.screen.stop();
    media.screen = null;
    rebuild();  // back to the camera (or to no video in audio-only mode)
  }

  buttons.screen.addEventListener("click", function () {
    if (media.screen) { stopSharing(); return; }
    if (!navigator.mediaDevices.getDisplayMedia) { Room.notify(Room.t("no_screen")); return; }
    navigator.mediaDevices.getDisplayMedia({ video: true, audio: false }).then(function (stream) {
      media.screen = stream.getVideoTracks()[0];
      media.screen.onended = stopSharing;  // the browser's own "Stop sharing" bar
      rebuild();
    }).catch(function () { /* the user cancelled the picker */ });
  });
})();
