/* The reading workspace: autosaves the report draft a moment after the reader stops typing, and
   keeps the reader's claim on the order alive while the page is open (renewing it well before it
   runs out), with a countdown. The page works without it: Save draft and Claim are plain forms. */
(function () {
  "use strict";
  var csrf = (function () {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }());
  var SAVE_DELAY_MS = 1500;

  function post(url, body) {
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf } })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); });
  }

  function clock(iso) {
    var d = new Date(iso);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  /* Autosave */
  var form = document.getElementById("report-form");
  var status = document.getElementById("autosave-status");
  if (form && form.dataset.autosaveUrl && !form.querySelector("fieldset[disabled]")) {
    var timer = null, saving = false, again = false;
    var save = function () {
      if (saving) { again = true; return; }
      saving = true;
      var body = new FormData(form);
      body.delete("intent");
      post(form.dataset.autosaveUrl, body).then(function (res) {
        status.textContent = res.ok ? form.dataset.labelSaved.replace("{time}", clock(res.data.saved_at))
          : form.dataset.labelFailed + ": " + (res.data.message || "");
        status.dataset.state = res.ok ? "saved" : "failed";
      }).catch(function () {
        status.textContent = form.dataset.labelFailed;
        status.dataset.state = "failed";
      }).then(function () {
        saving = false;
        if (again) { again = false; save(); }
      });
    };
    var later = function (event) {
      if (event.target && event.target.name === "template_key") { return; }  // switching is its own button
      status.dataset.state = "pending";
      clearTimeout(timer);
      timer = setTimeout(save, SAVE_DELAY_MS);
    };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    form.addEventListener("submit", function () { clearTimeout(timer); });
  }

  /* Claim countdown and renewal */
  var countdown = document.querySelector("[data-claim-until]");
  if (countdown) {
    var until = new Date(countdown.dataset.claimUntil).getTime();
    var length = parseInt(countdown.dataset.claimSeconds, 10) * 1000;
    var renewing = false, lost = false;
    var renew = function () {
      renewing = true;
      post(countdown.dataset.claimUrl, new FormData()).then(function (res) {
        if (res.ok) { until = new Date(res.data.claimed_until).getTime(); } else { lose(res.data.message); }
      }).catch(function () { /* a network blip: the next tick tries again */ })
        .then(function () { renewing = false; });
    };
    var lose = function (message) {
      lost = true;
      countdown.textContent = countdown.dataset.labelLost + (message ? " (" + message + ")" : "");
      countdown.className = "warning";
      document.querySelectorAll("[data-testid^=report-sign]").forEach(function (b) { b.disabled = true; });
    };
    var tick = function () {
      if (lost) { return; }
      var left = Math.max(0, until - Date.now());
      if (left === 0) { lose(""); return; }
      var s = Math.floor(left / 1000);
      var text = Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
      countdown.textContent = countdown.dataset.labelLeft.replace("{time}", text);
      // Renew when two thirds of the claim are used: a slow network still has a third to spare.
      if (!renewing && left < length / 3) { renew(); }
    };
    tick();
    setInterval(tick, 1000);
  }
}());
