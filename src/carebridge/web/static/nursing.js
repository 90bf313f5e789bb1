/* Home nursing: the browser's position for booking, check-in, check-out and SOS.
   - a button with data-geo-fill="#lat,#lon" fills those inputs (booking pin);
   - a form with data-geo fills its hidden latitude/longitude/accuracy before it is sent. A check-in
     or check-out without a position is not sent (the server would refuse it); an SOS is sent after
     at most a few seconds, with or without a position: help must never wait on a GPS fix. */
(function () {
  "use strict";
  var SOS_WAIT_MS = 4000, WAIT_MS = 15000;

  function locate(timeout, done) {
    if (!navigator.geolocation) { done(null); return; }
    var finished = false;
    var timer = setTimeout(function () { if (!finished) { finished = true; done(null); } }, timeout + 500);
    navigator.geolocation.getCurrentPosition(function (pos) {
      if (finished) { return; }
      finished = true; clearTimeout(timer); done(pos.coords);
    }, function () {
      if (finished) { return; }
      finished = true; clearTimeout(timer); done(null);
    }, { enableHighAccuracy: true, timeout: timeout, maximumAge: 30000 });
  }

  function say(el, text) { if (el) { el.textContent = text || ""; } }

  document.querySelectorAll("[data-geo-fill]").forEach(function (button) {
    button.addEventListener("click", function () {
      var targets = button.dataset.geoFill.split(",").map(function (s) { return document.querySelector(s); });
      var status = document.querySelector(button.dataset.geoStatus);
      say(status, button.dataset.geoWait);
      locate(WAIT_MS, function (coords) {
        if (!coords) { say(status, button.dataset.geoFail); return; }
        targets[0].value = coords.latitude.toFixed(6);
        targets[1].value = coords.longitude.toFixed(6);
        say(status, (button.dataset.geoDone || "").replace("%s", Math.round(coords.accuracy)));
      });
    });
  });

  document.querySelectorAll("form[data-geo]").forEach(function (form) {
    var kind = form.dataset.geo;
    form.addEventListener("submit", function (event) {
      if (form.dataset.located === "yes") { return; }
      event.preventDefault();
      var status = form.querySelector(".hn-geo-status");
      var button = form.querySelector("button[type=submit]");
      say(status, form.dataset.geoWait);
      if (button) { button.disabled = true; }
      locate(kind === "sos" ? SOS_WAIT_MS : WAIT_MS, function (coords) {
        if (coords) {
          form.elements.latitude.value = coords.latitude.toFixed(6);
          form.elements.longitude.value = coords.longitude.toFixed(6);
          form.elements.accuracy.value = Math.round(coords.accuracy);
        } else if (kind !== "sos") {
          say(status, form.dataset.geoFail);
          if (button) { button.disabled = false; }
          return;
        }
        form.dataset.located = "yes";
        form.submit();
      });
    });
  });
}());
