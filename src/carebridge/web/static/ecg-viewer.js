/* CareBridge ECG viewer: the standard 12-lead layout on millimetre paper, calipers, and the
 * automatic pre-read beside it. Drawn as SVG in millimetres (viewBox units are mm), so the tracing
 * is true to size when printed and stays sharp at any zoom. Data comes from
 * GET /api/v1/diagnosis/orders/{id}/ecg (metadata, pre-read) and .../ecg/signal (microvolts).
 * Also: the upload form's progress bar (XMLHttpRequest, since fetch reports no upload progress). */
(function () {
  "use strict";
  if (window.CareBridgeEcg) return;  // the partial may be included more than once
  window.CareBridgeEcg = true;

  var GRID = [["I", "aVR", "V1", "V4"], ["II", "aVL", "V2", "V5"], ["III", "aVF", "V3", "V6"]];
  var STANDARD = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"];
  var WINDOW_S = 10, SEGMENT_S = 2.5, RIGHT_MM = 3, TOP_MM = 4, PHONE_PX = 700, PHONE_ZOOM = 0.6;
  var LEFT_MM = 11;  // room for the calibration pulse; set for the speed in draw()

  function el(root, sel) { return root.querySelector(sel); }
  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, k) { return values[k] === undefined ? "" : values[k]; });
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function Viewer(root) {
    this.root = root;
    this.id = root.getAttribute("data-order-id");
    this.strings = JSON.parse(el(root, "script.ecg-strings").textContent);
    this.gain = 10; this.speed = 25; this.tool = "time";
    // On a phone the whole page fitted is too small to read: start larger and scroll the paper.
    this.zoom = root.clientWidth < PHONE_PX ? PHONE_ZOOM : "fit";
    this.start = 0; this.points = []; this.meta = null; this.signal = null;
    this.bind();
    this.load();
  }

  Viewer.prototype.api = function (path) { return "/api/v1/diagnosis/orders/" + this.id + "/ecg" + path; };

  Viewer.prototype.bind = function () {
    var self = this, root = this.root;
    el(root, "[data-ecg-gain]").addEventListener("change", function (e) { self.gain = +e.target.value; self.draw(); });
    el(root, "[data-ecg-speed]").addEventListener("change", function (e) { self.speed = +e.target.value; self.draw(); });
    root.querySelectorAll("[data-ecg-tool]").forEach(function (b) {
      b.addEventListener("click", function () {
        self.tool = b.getAttribute("data-ecg-tool"); self.points = [];
        root.querySelectorAll("[data-ecg-tool]").forEach(function (o) { o.setAttribute("aria-pressed", o === b); });
        self.drawCalipers();
      });
    });
    el(root, "[data-ecg-clear]").addEventListener("click", function () { self.points = []; self.drawCalipers(); });
    root.querySelectorAll("[data-ecg-zoom]").forEach(function (b) {
      b.addEventListener("click", function () {
        var z = b.getAttribute("data-ecg-zoom"), now = self.currentScale();
        self.zoom = z === "fit" ? "fit" : z === "in" ? now * 1.5 : z === "out" ? now / 1.5 : +z;
        self.applyZoom();
      });
    });
    root.querySelectorAll("[data-ecg-step]").forEach(function (b) {
      b.addEventListener("click", function () {
        var d = self.meta ? self.meta.duration_s : 0;
        self.start = Math.max(0, Math.min(Math.max(0, d - WINDOW_S), self.start + (+b.getAttribute("data-ecg-step"))));
        self.loadSignal();
      });
    });
  };

  Viewer.prototype.load = function () {
    var self = this;
    fetch(this.api(""), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (meta) {
        self.meta = meta;
        self.renderPreread(meta);
        var nav = el(self.root, "[data-ecg-nav]");
        if (nav) nav.hidden = meta.duration_s <= WINDOW_S + 0.01;
        self.loadSignal();
      })
      .catch(function (status) { self.fail(status); });
  };

  Viewer.prototype.loadSignal = function () {
    var self = this;
    var url = this.api("/signal?start=" + this.start + "&seconds=" + WINDOW_S + "&rate=500");
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (sig) {
        self.signal = sig; self.points = [];
        var label = el(self.root, "[data-ecg-window]");
        if (label) label.textContent = fmt(self.strings.window, {start: sig.start_s.toFixed(1),
          end: (sig.start_s + sig.duration_s).toFixed(1), total: self.meta.duration_s.toFixed(1)});
        self.draw();
      })
      .catch(function (status) { self.fail(status); });
  };

  Viewer.prototype.fail = function (status) {
    el(this.root, "[data-ecg-paper]").innerHTML = '<p class="alert">' +
      esc(status === 404 ? this.strings.none : this.strings.failed) + "</p>";
  };

  Viewer.prototype.isStandard = function () {
    var leads = this.signal.leads;
    return STANDARD.every(function (n) { return leads.indexOf(n) >= 0; });
  };

  /* The page layout in mm: rows of [lead, from_s, to_s, x0_mm] segments. */
  Viewer.prototype.layout = function () {
    var rows = [], s = this.signal, dur = Math.min(WINDOW_S, s.duration_s);
    if (this.isStandard()) {
      GRID.forEach(function (names) {
        rows.push(names.map(function (n, c) { return {lead: n, from: c * SEGMENT_S, to: Math.min(dur, (c + 1) * SEGMENT_S)}; }));
      });
      rows.push([{lead: "II", from: 0, to: dur, rhythm: true}]);
    } else {
      s.leads.forEach(function (n) { rows.push([{lead: n, from: 0, to: dur, rhythm: rows.length === 0}]); });
    }
    return rows;
  };

  Viewer.prototype.draw = function () {
    if (!this.signal) return;
    var s = this.signal, g = this.gain, v = this.speed, rows = this.layout();
    LEFT_MM = 6 + 0.2 * v;
    var rowH = Math.max(25, 3.5 * g), width = LEFT_MM + WINDOW_S * v + RIGHT_MM;
    var height = TOP_MM + rows.length * rowH + 2;
    this.geometry = {width: width, height: height, rowH: rowH};
    var uid = "ecg" + this.id, parts = [];
    parts.push('<svg xmlns="http://www.w3.org/2000/svg" class="ecg-svg" data-testid="ecg-svg" viewBox="0 0 ' +
      width + " " + height + '" width="' + width + 'mm" height="' + height + 'mm" role="img" aria-label="' +
      esc(this.strings.tracing) + '">');
    parts.push('<defs><pattern id="' + uid + '-mm" width="1" height="1" patternUnits="userSpaceOnUse">' +
      '<path d="M1 0H0V1" fill="none" stroke="#f7c9d2" stroke-width="0.06"/></pattern>' +
      '<pattern id="' + uid + '-5mm" width="5" height="5" patternUnits="userSpaceOnUse">' +
      '<rect width="5" height="5" fill="url(#' + uid + '-mm)"/>' +
      '<path d="M5 0H0V5" fill="none" stroke="#e88ea0" stroke-width="0.14"/></pattern></defs>');
    parts.push('<rect x="' + LEFT_MM + '" y="0" width="' + (WINDOW_S * v) + '" height="' + height +
      '" fill="url(#' + uid + '-5mm)" class="ecg-grid"/>');
    var self = this;
    rows.forEach(function (row, r) {
      var base = TOP_MM + r * rowH + rowH * 0.6;
      parts.push(self.pulse(base));
      row.forEach(function (seg) { parts.push(self.trace(seg, base)); });
    });
    parts.push(this.peakMarks(rows, rowH));
    parts.push('<g class="ecg-calipers" data-ecg-calipers></g></svg>');
    var paper = el(this.root, "[data-ecg-paper]");
    paper.innerHTML = parts.join("");
    var svg = el(paper, "svg");
    svg.addEventListener("click", function (e) { self.click(e, svg); });
    this.applyZoom();
    this.drawCalipers();
  };

  /* The 1 mV, 200 ms calibration pulse at the start of each row. */
  Viewer.prototype.pulse = function (base) {
    var x = 3, w = 0.2 * this.speed, h = this.gain;  // ends 1 mm before LEFT_MM
    return '<path class="ecg-pulse" d="M' + (x - 2) + " " + base + "H" + x + "V" + (base - h) + "H" + (x + w) +
      "V" + base + "H" + (x + w + 2) + '" fill="none" stroke="#000" stroke-width="0.3"/>';
  };

  Viewer.prototype.trace = function (seg, base) {
    var s = this.signal, k = s.leads.indexOf(seg.lead);
    if (k < 0) return "";
    var data = s.data[k], fs = s.sample_rate, v = this.speed, g = this.gain / 1000;  // mm per µV
    var a = Math.floor(seg.from * fs), b = Math.min(data.length, Math.ceil(seg.to * fs));
    var d = [];
    for (var i = a; i < b; i++) {
      d.push((i === a ? "M" : "L") + (LEFT_MM + (i / fs) * v).toFixed(2) + " " + (base - data[i] * g).toFixed(2));
    }
    var x0 = LEFT_MM + seg.from * v;
    var out = '<text class="ecg-lead" x="' + (x0 + 1) + '" y="' + (base - this.gain * 1.2) + '">' + esc(seg.lead) + "</text>";
    if (seg.from > 0) out += '<path d="M' + x0 + " " + (base - 2) + "V" + (base + 2) + '" stroke="#000" stroke-width="0.3"/>';
    return out + '<path class="ecg-trace" data-lead="' + esc(seg.lead) + '" d="' + d.join("") +
      '" fill="none" stroke="#000" stroke-width="0.3" stroke-linejoin="round"/>';
  };

  /* Small marks over the rhythm strip where the pre-read found each beat. */
  Viewer.prototype.peakMarks = function (rows, rowH) {
    var pre = this.meta && this.meta.preread, s = this.signal;
    if (!pre || !pre.r_peaks_s) return "";
    var r = rows.findIndex(function (row) { return row[0].rhythm; });
    if (r < 0) return "";
    var y = TOP_MM + r * rowH + 1.5, v = this.speed, out = [];
    pre.r_peaks_s.forEach(function (t) {
      var rel = t - s.start_s;
      if (rel < 0 || rel > s.duration_s) return;
      var x = LEFT_MM + rel * v;
      out.push("M" + (x - 0.8).toFixed(2) + " " + y + "L" + (x + 0.8).toFixed(2) + " " + y + "L" + x.toFixed(2) + " " + (y + 1.4) + "Z");
    });
    return '<path class="ecg-peaks" d="' + out.join("") + '" fill="#1d4f91"><title>' + esc(this.strings.beats_marked) + "</title></path>";
  };

  Viewer.prototype.currentScale = function () {
    var svg = el(this.root, "[data-ecg-paper] svg");
    if (!svg || !this.geometry) return 1;
    var mmPx = 96 / 25.4;
    return svg.getBoundingClientRect().width / (this.geometry.width * mmPx);
  };

  Viewer.prototype.applyZoom = function () {
    var svg = el(this.root, "[data-ecg-paper] svg");
    if (!svg) return;
    var paper = el(this.root, "[data-ecg-paper]");
    paper.classList.toggle("ecg-fit", this.zoom === "fit");
    if (this.zoom === "fit") {
      svg.style.width = ""; svg.style.height = "";
    } else {
      var z = Math.max(0.25, Math.min(8, this.zoom));
      this.zoom = z;
      svg.style.width = (this.geometry.width * z) + "mm";
      svg.style.height = (this.geometry.height * z) + "mm";
    }
  };

  Viewer.prototype.click = function (e, svg) {
    var pt = svg.createSVGPoint();
    pt.x = e.clientX; pt.y = e.clientY;
    var p = pt.matrixTransform(svg.getScreenCTM().inverse());
    if (this.points.length >= 2) this.points = [];
    this.points.push({x: p.x, y: p.y});
    this.drawCalipers();
  };

  Viewer.prototype.drawCalipers = function () {
    var layer = el(this.root, "[data-ecg-calipers]"), out = el(this.root, "[data-ecg-readout]");
    if (!layer) return;
    var g = this.geometry, pts = this.points, tool = this.tool, parts = [];
    pts.forEach(function (p) {
      parts.push(tool === "time"
        ? '<line x1="' + p.x + '" y1="0" x2="' + p.x + '" y2="' + g.height + '"/>'
        : '<line x1="' + LEFT_MM + '" y1="' + p.y + '" x2="' + (g.width - RIGHT_MM) + '" y2="' + p.y + '"/>');
    });
    var text = pts.length === 1 ? this.strings.second_point : pts.length === 0 ? this.strings.first_point : "";
    if (pts.length === 2) {
      if (tool === "time") {
        var ms = Math.abs(pts[1].x - pts[0].x) / this.speed * 1000;
        text = fmt(this.strings.interval, {ms: Math.round(ms), bpm: ms > 0 ? Math.round(60000 / ms) : "–"});
        var y = Math.min(pts[0].y, pts[1].y);
        parts.push('<line class="ecg-span" x1="' + pts[0].x + '" y1="' + y + '" x2="' + pts[1].x + '" y2="' + y + '"/>');
      } else {
        var mv = Math.abs(pts[1].y - pts[0].y) / this.gain;
        text = fmt(this.strings.amplitude, {mv: mv.toFixed(2)});
      }
    }
    layer.innerHTML = parts.join("");
    out.textContent = text;
    out.setAttribute("data-ms", pts.length === 2 && tool === "time" ? Math.round(Math.abs(pts[1].x - pts[0].x) / this.speed * 1000) : "");
  };

  Viewer.prototype.renderPreread = function (meta) {
    var box = el(this.root, "[data-ecg-preread-body]"), S = this.strings, p = meta.preread;
    if (!box) return;
    if (!p) { box.innerHTML = '<p class="muted">' + esc(S.no_preread) + "</p>"; return; }
    var m = p.measurements || {}, why = p.unmeasured || {};
    function value(key, unit) {
      if (m[key] !== null && m[key] !== undefined) return esc(m[key] + " " + unit);
      return '<span class="muted" title="' + esc(S.reasons[why[key]] || why[key] || "") + '">' + esc(S.unmeasured) + "</span>";
    }
    var rows = [
      [S.heart_rate, p.heart_rate_bpm !== null ? esc(p.heart_rate_bpm + " " + S.bpm) : esc(S.unmeasured)],
      [S.rr, p.rr_ms ? esc(p.rr_ms.mean + " ± " + p.rr_ms.sd + " ms") : esc(S.unmeasured)],
      [S.pr, value("pr_ms", "ms")], [S.qrs, value("qrs_ms", "ms")], [S.qt, value("qt_ms", "ms")],
      [S.qtc_bazett, value("qtc_bazett_ms", "ms")], [S.qtc_fridericia, value("qtc_fridericia_ms", "ms")],
      [S.axis, value("axis_deg", "°")]];
    var html = '<table class="ecg-measures" data-testid="ecg-measures">' + rows.map(function (r) {
      return "<tr><th>" + esc(r[0]) + "</th><td>" + r[1] + "</td></tr>";
    }).join("") + "</table>";
    html += '<ul class="plain ecg-flags" data-testid="ecg-flags">' + (p.flags || []).map(function (f) {
      var cls = f === "sinus_rhythm" ? "tag" : "tag high";
      return '<li class="' + cls + '" data-flag="' + esc(f) + '">' + esc(S.flags[f] || f) + "</li>";
    }).join("") + "</ul>";
    var warns = (p.quality && p.quality.warnings) || [];
    if (warns.length) {
      html += '<ul class="warning ecg-quality" data-testid="ecg-quality">' + warns.map(function (w) {
        return "<li>" + esc(S.quality[w.code] || w.code) + (w.leads ? ": " + esc(w.leads.join(", ")) : "") + "</li>";
      }).join("") + "</ul>";
    }
    html += '<p class="muted ecg-preread-meta">' + esc(fmt(S.beats, {beats: p.beats, used: p.beats_in_median})) +
      " · " + esc(fmt(S.version, {version: p.version})) + "</p>";
    box.innerHTML = html;
  };

  /* The upload form: post to the JSON API with a progress bar; without script the form posts itself. */
  function bindUpload(form) {
    form.addEventListener("submit", function (e) {
      if (!window.FormData || !window.XMLHttpRequest) return;
      e.preventDefault();
      var bar = form.querySelector("progress"), status = form.querySelector("[data-upload-status]");
      var xhr = new XMLHttpRequest(), data = new FormData(form);
      if (!data.get("sample_rate")) data.delete("sample_rate");
      xhr.open("POST", form.getAttribute("data-api"));
      xhr.setRequestHeader("X-CSRF-Token", data.get("csrf_token") || "");
      xhr.setRequestHeader("Accept", "application/json");
      data.delete("csrf_token");
      bar.hidden = false; bar.value = 0;
      status.className = "muted"; status.textContent = form.getAttribute("data-sending");
      xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) bar.value = ev.loaded / ev.total; };
      xhr.onload = function () {
        if (xhr.status === 201) {
          bar.value = 1; status.className = "notice"; status.textContent = form.getAttribute("data-done");
          window.location.assign(form.getAttribute("action"));
          return;
        }
        var message = form.getAttribute("data-failed");
        try { message = JSON.parse(xhr.responseText).message || message; } catch (_e) { /* not JSON */ }
        bar.hidden = true; status.className = "alert"; status.textContent = message;
      };
      xhr.onerror = function () { bar.hidden = true; status.className = "alert"; status.textContent = form.getAttribute("data-failed"); };
      xhr.send(data);
    });
  }

  function start() {
    document.querySelectorAll("[data-ecg-viewer]").forEach(function (root) {
      if (!root.ecgViewer) root.ecgViewer = new Viewer(root);
    });
    document.querySelectorAll("form[data-ecg-upload]").forEach(bindUpload);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
  document.addEventListener("htmx:afterSwap", start);
})();
