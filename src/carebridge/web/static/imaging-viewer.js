/* CareBridge image viewer, part 2: the viewer (needs imaging-pixels.js first; no framework).
 *
 * Input: mouse wheel, slider, arrow keys / PageUp / PageDown / Home / End scroll slices; a drag does
 * the chosen tool (scroll, window/level, pan, zoom, measure); the middle button pans and the right
 * button zooms; on a touch screen one finger does the tool and two fingers pinch-zoom and pan.
 */
(function () {
  "use strict";
  const lib = window.CareBridgeImaging;
  if (!lib || lib.booting) return;  // included twice (an htmx swap): the first copy boots new viewers
  lib.booting = true;
  const { Series, drawRaw, fill, round, getJson } = lib;
  const PRESETS = { brain: [40, 80], subdural: [75, 215], lung: [-600, 1500], mediastinum: [50, 350],
                    bone: [400, 1800], abdomen: [40, 400] };
  const PRELOAD_AHEAD = 4;
  const PRELOAD_BEHIND = 2;

  /* ---- one viewport ------------------------------------------------------------------------ */

  class Pane {
    constructor(viewer, root, label) {
      this.viewer = viewer;
      this.root = root;
      this.strings = viewer.strings;
      this.canvas = root.querySelector(".iv-canvas");
      this.stage = root.querySelector(".iv-stage");
      this.slider = root.querySelector(".iv-slider");
      this.loading = root.querySelector(".iv-loading");
      this.ov = {
        tl: root.querySelector(".iv-ov-tl"), tr: root.querySelector(".iv-ov-tr"),
        bl: root.querySelector(".iv-ov-bl"), br: root.querySelector(".iv-ov-br"),
        measure: root.querySelector(".iv-ov-measure"),
      };
      root.querySelector(".iv-pane-label").textContent = label;
      this.offscreen = document.createElement("canvas");
      this.series = null;
      this.index = 0;
      this.image = null;
      this.measures = new Map();
      this.drag = null;
      this.pointers = new Map();
      this.resetView();
      this.bind();
      new ResizeObserver(() => this.paint()).observe(this.stage);
    }

    resetView() {
      this.zoom = 1;
      this.panX = 0;
      this.panY = 0;
      this.window = null;  // [center, width] chosen by the user; null = the image's own
    }

    bind() {
      this.slider.addEventListener("input", () => this.show(Number(this.slider.value) - 1));
      this.stage.addEventListener("wheel", (e) => {
        e.preventDefault();
        if (e.ctrlKey) this.zoomBy(Math.exp(-e.deltaY / 300));
        else this.step(e.deltaY > 0 ? 1 : -1);
      }, { passive: false });
      this.stage.addEventListener("contextmenu", (e) => e.preventDefault());
      this.stage.addEventListener("pointerdown", (e) => this.down(e));
      this.stage.addEventListener("pointermove", (e) => this.move(e));
      for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
        this.stage.addEventListener(type, (e) => this.up(e));
      }
      this.root.addEventListener("pointerdown", () => this.viewer.activate(this), true);
    }

    async setSeries(series, study) {
      this.series = series;
      this.study = study;
      this.resetView();
      this.measures.clear();
      this.image = null;
      this.slider.max = String(Math.max(series.slices.length, 1));
      this.index = Math.floor((series.slices.length - 1) / 2);
      this.ov.tr.textContent = [fill(this.strings.study_of, { date: formatDate(study.study_date),
                                                              description: study.description || "" }),
                                fill(this.strings.series, { n: series.info.series_number ?? "" }) + " · " +
                                (series.info.description || series.info.modality)].join("\n");
      this.root.classList.toggle("iv-is-ct", series.info.modality === "CT");
      this.viewer.syncPresets();
      await this.show(this.index);
    }

    step(delta) {
      if (this.series) this.show(Math.max(0, Math.min(this.series.slices.length - 1, this.index + delta)));
    }

    async show(index) {
      if (!this.series || !this.series.slices.length) return;
      this.index = index;
      this.slider.value = String(index + 1);
      this.updateSliceText();
      const wanted = index;
      this.loading.hidden = this.series.cache.has(this.series.slices[index].key);
      try {
        const image = await this.series.pixels(index);
        if (wanted !== this.index) return;  // the user scrolled on meanwhile
        this.image = image;
        this.loading.hidden = true;
        this.render();
      } catch (err) {
        this.loading.hidden = true;
        this.viewer.status(this.strings.load_failed);
      }
      this.preload();
    }

    preload() {
      const n = this.series.slices.length;
      for (let d = 1; d <= PRELOAD_AHEAD; d++) {
        if (this.index + d < n) this.series.pixels(this.index + d).catch(() => {});
        if (d <= PRELOAD_BEHIND && this.index - d >= 0) this.series.pixels(this.index - d).catch(() => {});
      }
    }

    get slice() {
      return this.series ? this.series.slices[this.index] : null;
    }

    currentWindow() {
      if (this.window) return this.window;
      const m = this.slice.meta;
      if (m.center !== null && m.width !== null && Number(m.width) > 0) return [Number(m.center), Number(m.width)];
      return this.fullWindow();
    }

    fullWindow() {
      const m = this.slice.meta;
      const a = this.image.low * m.slope + m.intercept, b = this.image.high * m.slope + m.intercept;
      return [(a + b) / 2, Math.max(Math.abs(b - a), 1)];
    }

    render() {
      if (!this.image) return;
      const img = this.image;
      if (this.offscreen.width !== img.width || this.offscreen.height !== img.height) {
        this.offscreen.width = img.width;
        this.offscreen.height = img.height;
      }
      const ctx = this.offscreen.getContext("2d");
      if (img.kind === "raw") {
        const [center, width] = this.currentWindow();
        const target = ctx.createImageData(img.width, img.height);
        drawRaw(img, this.slice.meta, center, width, target);
        ctx.putImageData(target, 0, 0);
        this.ov.bl.textContent = fill(this.strings.window, { w: round(width), l: round(center) });
      } else {
        ctx.drawImage(img.bitmap, 0, 0);
        this.ov.bl.textContent = this.strings.colour;
      }
      this.root.dataset.ready = "1";  // an image is on screen (tests and people wait for this)
      this.paint();
    }

    /* image → screen: fit, then the user's zoom and pan */
    transform() {
      const w = this.canvas.clientWidth, h = this.canvas.clientHeight;
      const fit = Math.min(w / this.image.width, h / this.image.height);
      const scale = fit * this.zoom;
      return { scale, x: w / 2 + this.panX - (this.image.width * scale) / 2,
               y: h / 2 + this.panY - (this.image.height * scale) / 2 };
    }

    toImage(clientX, clientY) {
      const rect = this.canvas.getBoundingClientRect();
      const t = this.transform();
      return { x: (clientX - rect.left - t.x) / t.scale, y: (clientY - rect.top - t.y) / t.scale };
    }

    paint() {
      const ratio = window.devicePixelRatio || 1;
      const w = this.stage.clientWidth, h = this.stage.clientHeight;
      if (this.canvas.width !== Math.round(w * ratio) || this.canvas.height !== Math.round(h * ratio)) {
        this.canvas.width = Math.round(w * ratio);
        this.canvas.height = Math.round(h * ratio);
      }
      const ctx = this.canvas.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, w, h);
      if (!this.image) return;
      const t = this.transform();
      ctx.imageSmoothingEnabled = t.scale < 2;
      ctx.drawImage(this.offscreen, t.x, t.y, this.image.width * t.scale, this.image.height * t.scale);
      this.ov.bl.textContent = this.ov.bl.textContent.split("\n")[0] + "\n" +
        fill(this.strings.zoom, { pct: Math.round(t.scale * 100) });
      this.paintMeasures(ctx, t);
    }

    lengthText(a, b) {
      const spacing = this.slice.meta.spacing;
      const dx = b.x - a.x, dy = b.y - a.y;
      if (spacing && spacing.length === 2) {
        // PixelSpacing is (row spacing, column spacing): rows are dy apart, columns dx (PS3.3 10.7.1.3).
        return round(Math.hypot(dx * Number(spacing[1]), dy * Number(spacing[0])), 1).toFixed(1) + " " +
               this.strings.mm;
      }
      return round(Math.hypot(dx, dy), 1).toFixed(1) + " " + this.strings.px;
    }

    paintMeasures(ctx, t) {
      const list = (this.measures.get(this.slice.key) || []).concat(this.drag && this.drag.measure ?
        [this.drag.measure] : []);
      ctx.lineWidth = 2;
      ctx.font = "14px system-ui, sans-serif";
      for (const m of list) {
        const ax = t.x + m.a.x * t.scale, ay = t.y + m.a.y * t.scale;
        const bx = t.x + m.b.x * t.scale, by = t.y + m.b.y * t.scale;
        ctx.strokeStyle = "#ffd400";
        ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by); ctx.stroke();
        for (const [x, y] of [[ax, ay], [bx, by]]) { ctx.beginPath(); ctx.arc(x, y, 3, 0, 2 * Math.PI); ctx.stroke(); }
        const label = this.lengthText(m.a, m.b);
        ctx.fillStyle = "rgba(0,0,0,.6)";
        ctx.fillRect(bx + 6, by - 18, ctx.measureText(label).width + 8, 20);
        ctx.fillStyle = "#ffd400";
        ctx.fillText(label, bx + 10, by - 3);
      }
    }

    updateSliceText() {
      const slice = this.slice;
      const lines = [fill(this.strings.slice, { n: this.index + 1, total: this.series.slices.length })];
      if (slice.meta.location !== null) lines.push(fill(this.strings.location, { mm: round(slice.meta.location, 1) }));
      this.ov.br.textContent = lines.join("\n");
      this.root.dataset.slice = String(this.index + 1);
    }

    zoomBy(factor) {
      this.zoom = Math.max(0.1, Math.min(20, this.zoom * factor));
      this.paint();
    }

    setWindow(center, width) {
      this.window = [center, Math.max(1, width)];
      this.render();
    }

    /* ---- pointers: one = the tool, two = pinch zoom and pan ---- */

    down(e) {
      if (!this.image) return;
      // The first finger of a gesture (and every mouse press) starts afresh: a pointer whose "up"
      // was lost (a touch cancelled by the browser) must not turn the next drag into a pinch.
      if (e.isPrimary) this.pointers.clear();
      this.stage.setPointerCapture(e.pointerId);
      this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (this.pointers.size === 2) {
        const [p, q] = [...this.pointers.values()];
        this.drag = { pinch: true, dist: Math.hypot(p.x - q.x, p.y - q.y), zoom: this.zoom,
                      mid: { x: (p.x + q.x) / 2, y: (p.y + q.y) / 2 }, panX: this.panX, panY: this.panY };
        return;
      }
      const tool = e.button === 1 ? "pan" : e.button === 2 ? "zoom" : this.viewer.tool;
      this.drag = { tool, x: e.clientX, y: e.clientY, moved: 0, window: this.currentWindow(), zoom: this.zoom,
                    panX: this.panX, panY: this.panY, index: this.index };
      if (tool === "measure") {
        const a = this.toImage(e.clientX, e.clientY);
        this.drag.measure = { a, b: a };
      }
      e.preventDefault();
    }

    move(e) {
      if (!this.pointers.has(e.pointerId) || !this.drag) return;
      this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      const d = this.drag;
      if (d.pinch) {
        if (this.pointers.size < 2) return;
        const [p, q] = [...this.pointers.values()];
        this.zoom = Math.max(0.1, Math.min(20, d.zoom * Math.hypot(p.x - q.x, p.y - q.y) / d.dist));
        this.panX = d.panX + (p.x + q.x) / 2 - d.mid.x;
        this.panY = d.panY + (p.y + q.y) / 2 - d.mid.y;
        this.paint();
        return;
      }
      const dx = e.clientX - d.x, dy = e.clientY - d.y;
      if (d.tool === "scroll") {
        const target = d.index + Math.round(dy / 8);
        if (target !== this.index) this.show(Math.max(0, Math.min(this.series.slices.length - 1, target)));
      } else if (d.tool === "wl" && this.image.kind === "raw") {
        const m = this.slice.meta;
        const span = Math.max((this.image.high - this.image.low) * Math.abs(m.slope), 1);
        const sensitivity = Math.max(span / 600, 0.05);
        this.setWindow(d.window[0] + dy * sensitivity, d.window[1] + dx * sensitivity);
      } else if (d.tool === "pan") {
        this.panX = d.panX + dx;
        this.panY = d.panY + dy;
        this.paint();
      } else if (d.tool === "zoom") {
        this.zoom = Math.max(0.1, Math.min(20, d.zoom * Math.exp(-dy / 150)));
        this.paint();
      } else if (d.tool === "measure") {
        d.measure.b = this.toImage(e.clientX, e.clientY);
        this.paint();
      }
    }

    up(e) {
      this.pointers.delete(e.pointerId);
      const d = this.drag;
      if (!d) return;
      if (d.pinch) {
        if (this.pointers.size === 0) this.drag = null;
        return;
      }
      if (d.tool === "measure" && d.measure) {
        const m = d.measure;
        if (Math.hypot(m.b.x - m.a.x, m.b.y - m.a.y) >= 2) {
          const list = this.measures.get(this.slice.key) || [];
          list.push(m);
          this.measures.set(this.slice.key, list);
          this.ov.measure.textContent = this.lengthText(m.a, m.b);
          if (!this.slice.meta.spacing) this.viewer.status(this.strings.no_spacing);
        }
      }
      this.drag = null;
      this.paint();
    }

    reset() {
      this.resetView();
      if (this.slice) this.measures.delete(this.slice.key);
      this.ov.measure.textContent = "";
      this.render();
    }
  }

  function formatDate(text) {
    return text && text.length === 8 ? text.slice(0, 4) + "-" + text.slice(4, 6) + "-" + text.slice(6) : (text || "");
  }

  /* ---- the viewer: toolbar, series strip, one or two panes ------------------------------- */

  class Viewer {
    constructor(root) {
      this.root = root;
      this.strings = JSON.parse(root.querySelector(".iv-strings").textContent);
      this.dicomweb = root.dataset.dicomweb;
      this.panesBox = root.querySelector(".iv-panes");
      this.strip = root.querySelector(".iv-strip");
      this.statusBox = root.querySelector(".iv-status");
      this.tool = window.matchMedia("(pointer: coarse)").matches ? "scroll" : "wl";
      this.panes = [];
      this.prior = null;
      this.bindToolbar();
      this.bindKeys();
      this.start();
    }

    status(text) {
      this.statusBox.textContent = text || "";
    }

    newPane(label) {
      const fragment = this.root.querySelector(".iv-pane-template").content.cloneNode(true);
      const element = fragment.querySelector(".iv-pane");
      this.panesBox.appendChild(fragment);
      const pane = new Pane(this, element, label);
      this.panes.push(pane);
      return pane;
    }

    activate(pane) {
      this.active = pane;
      for (const p of this.panes) p.root.classList.toggle("iv-active", p === pane);
      this.syncPresets();
    }

    syncPresets() {
      const ct = this.active && this.active.series && this.active.series.info.modality === "CT";
      for (const b of this.root.querySelectorAll(".iv-ct")) b.hidden = !ct;
    }

    bindToolbar() {
      for (const button of this.root.querySelectorAll(".iv-tool")) {
        button.addEventListener("click", () => this.setTool(button.dataset.tool));
      }
      this.setTool(this.tool);
      for (const button of this.root.querySelectorAll(".iv-preset")) {
        button.addEventListener("click", () => this.preset(button.dataset.preset));
      }
      this.root.querySelector(".iv-reset").addEventListener("click", () => this.active && this.active.reset());
      this.compareButton = this.root.querySelector(".iv-compare");
      this.compareButton.addEventListener("click", () => this.toggleCompare());
    }

    setTool(tool) {
      this.tool = tool;
      for (const b of this.root.querySelectorAll(".iv-tool")) b.setAttribute("aria-pressed", String(b.dataset.tool === tool));
      this.root.dataset.tool = tool;
    }

    preset(name) {
      const pane = this.active;
      if (!pane || !pane.image || pane.image.kind !== "raw") return;
      if (name === "default") { pane.window = null; pane.render(); return; }
      if (name === "full") { const [c, w] = pane.fullWindow(); pane.setWindow(c, w); return; }
      pane.setWindow(PRESETS[name][0], PRESETS[name][1]);
    }

    bindKeys() {
      document.addEventListener("keydown", (e) => {
        const t = e.target;
        if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
        if (!this.active || e.altKey || e.ctrlKey || e.metaKey) return;
        const moves = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, PageDown: 10, PageUp: -10 };
        if (e.key in moves) this.active.step(moves[e.key]);
        else if (e.key === "Home") this.active.show(0);
        else if (e.key === "End") this.active.show(this.active.series.slices.length - 1);
        else return;
        e.preventDefault();
      });
    }

    async start() {
      this.status(this.strings.loading);
      let order;
      try {
        order = await getJson(this.root.dataset.imagesUrl);
      } catch (err) {
        this.status(this.strings.load_failed);
        return;
      }
      this.order = order;
      const main = this.newPane(this.strings.current);
      this.activate(main);
      const entries = [];
      for (const study of order.studies) for (const s of study.series) entries.push([study, s]);
      if (!entries.length) { this.status(this.strings.no_images); return; }
      this.status("");
      for (const [study, s] of entries) this.strip.appendChild(this.thumb(study, s, main));
      await this.open(main, entries[0][0], entries[0][1]);
    }

    patientLine(study) {
      const p = this.order.patient;
      const sex = this.strings.sexes[p.sex] || p.sex;
      return [p.name + " · " + sex + " · " + p.birth_date, study.sent_patient_key].filter(Boolean).join("\n");
    }

    thumb(study, series, pane) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "iv-thumb";
      button.dataset.series = series.series_uid;
      button.setAttribute("data-testid", "series-thumb");
      const img = document.createElement("img");
      img.alt = "";
      img.loading = "lazy";
      img.src = this.dicomweb + "/studies/" + study.study_uid + "/series/" + series.series_uid + "/thumbnail";
      const caption = document.createElement("span");
      caption.textContent = fill(this.strings.series, { n: series.series_number ?? "" }) + " · " +
        (series.description || series.modality) + " · " + fill(this.strings.images, { n: series.instance_count });
      button.append(img, caption);
      button.addEventListener("click", () => this.open(pane, study, series));
      return button;
    }

    async open(pane, study, seriesInfo) {
      pane.loading.hidden = false;
      for (const b of this.strip.querySelectorAll(".iv-thumb")) {
        if (pane === this.panes[0]) b.classList.toggle("iv-current", b.dataset.series === seriesInfo.series_uid);
      }
      try {
        const series = await new Series(this.dicomweb, study, seriesInfo).load();
        pane.ov.tl.textContent = this.patientLine(study);
        await pane.setSeries(series, study);
      } catch (err) {
        pane.loading.hidden = true;
        this.status(this.strings.load_failed);
      }
    }

    async toggleCompare() {
      if (this.prior) {
        this.prior.root.remove();
        this.panes = this.panes.filter((p) => p !== this.prior);
        this.prior = null;
        this.activate(this.panes[0]);
        this.root.classList.remove("iv-comparing");
        this.compareButton.setAttribute("aria-pressed", "false");
        this.compareButton.textContent = this.strings.compare;
        return;
      }
      let priors;
      try {
        priors = await getJson(this.root.dataset.priorsUrl);
      } catch (err) {
        this.status(this.strings.load_failed);
        return;
      }
      priors = priors.filter((s) => s.series.length);
      if (!priors.length) { this.status(this.strings.no_priors); return; }
      this.status("");
      this.prior = this.newPane(this.strings.prior);
      this.root.classList.add("iv-comparing");
      this.compareButton.setAttribute("aria-pressed", "true");
      this.compareButton.textContent = this.strings.hide_prior;
      this.fillPriorChoices(priors);
      this.activate(this.prior);
    }

    fillPriorChoices(priors) {
      const pane = this.prior;
      const studySelect = pane.root.querySelector(".iv-study-select");
      const seriesSelect = pane.root.querySelector(".iv-series-select");
      studySelect.hidden = seriesSelect.hidden = false;
      studySelect.replaceChildren(...priors.map((s, i) => new Option(
        fill(this.strings.study_of, { date: formatDate(s.study_date), description: s.description || s.modality }), i)));
      const chooseStudy = () => {
        const study = priors[Number(studySelect.value)];
        seriesSelect.replaceChildren(...study.series.map((s, i) => new Option(
          fill(this.strings.series, { n: s.series_number ?? "" }) + " · " + (s.description || s.modality), i)));
        // The series most like the one on the left: same modality, then the most images.
        const current = this.panes[0].series ? this.panes[0].series.info : null;
        let best = 0;
        study.series.forEach((s, i) => {
          const score = (current && s.modality === current.modality ? 1e6 : 0) + s.instance_count;
          const top = (current && study.series[best].modality === current.modality ? 1e6 : 0) +
            study.series[best].instance_count;
          if (score > top) best = i;
        });
        seriesSelect.value = String(best);
        this.open(pane, study, study.series[best]);
      };
      studySelect.addEventListener("change", chooseStudy);
      seriesSelect.addEventListener("change", () => {
        const study = priors[Number(studySelect.value)];
        this.open(pane, study, study.series[Number(seriesSelect.value)]);
      });
      chooseStudy();
    }
  }

  function boot() {
    for (const root of document.querySelectorAll(".iv[data-order-id]")) {
      if (!root.dataset.started) {
        root.dataset.started = "1";
        root.viewer = new Viewer(root);
      }
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
  document.addEventListener("htmx:afterSettle", boot);
})();
