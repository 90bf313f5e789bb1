// The slide viewer (diagnostics/pathology/templates/pathology/slide_viewer.html): a picker of the
// order's slides, OpenSeadragon over the Deep Zoom routes with a navigator, a scale bar and a
// magnification readout from the slide's pixel size and objective power, a length measurement that
// works with a mouse or a finger, and full screen. Opening a slide fetches its .dzi, which the
// server records in the audit trail; the tiles it then loads are not recorded one by one.
(function () {
  "use strict";

  const NICE = [1, 2, 5];

  function niceLength(maxMicrons) {
    const power = Math.pow(10, Math.floor(Math.log10(maxMicrons)));
    let best = power;
    for (const step of NICE) if (step * power <= maxMicrons) best = step * power;
    return best;
  }

  function formatLength(microns) {
    if (microns >= 1000) return (microns / 1000).toFixed(microns >= 10000 ? 0 : 1) + " mm";
    return (microns >= 10 ? Math.round(microns) : microns.toFixed(1)) + " µm";
  }

  function formatMagnification(mag) {
    return (mag >= 10 ? Math.round(mag) : mag.toFixed(1)) + "×";
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text) node.textContent = text;
    return node;
  }

  function SlideViewer(root) {
    this.root = root;
    this.msg = root.dataset;
    this.api = "/api/v1/diagnosis/orders/" + root.dataset.orderId + "/slides";
    this.stage = root.querySelector(".patho-stage");
    this.picker = root.querySelector(".patho-picker");
    this.magnification = root.querySelector(".patho-mag");
    this.scale = root.querySelector(".patho-scale");
    this.overlay = root.querySelector(".patho-overlay");
    this.hint = root.querySelector(".patho-hint");
    this.slide = null;
    this.measure = { on: false, start: null, end: null };
    this.tilesLoaded = 0;
    this.viewer = OpenSeadragon({
      element: root.querySelector(".patho-osd"),
      prefixUrl: "/static/openseadragon/images/",
      showNavigator: true,
      navigatorPosition: "BOTTOM_RIGHT",
      showFullPageControl: false,
      showRotationControl: false,
      maxZoomPixelRatio: 2,
      visibilityRatio: 0.5,
      gestureSettingsTouch: { pinchRotate: false, flickEnabled: true },
    });
    this.bindViewer();
    this.bindTools();
    this.load();
  }

  SlideViewer.prototype.bindViewer = function () {
    const self = this;
    this.viewer.addHandler("open", function () {
      self.root.dataset.state = "open";
      self.update();
    });
    this.viewer.addHandler("open-failed", function () {
      self.root.dataset.state = "failed";
      self.showHint(self.msg.msgError);
    });
    this.viewer.addHandler("tile-loaded", function () {
      self.tilesLoaded += 1;
      self.root.dataset.tilesLoaded = String(self.tilesLoaded);
    });
    this.viewer.addHandler("animation", function () { self.update(); });
    this.viewer.addHandler("resize", function () { self.update(); });
  };

  SlideViewer.prototype.bindTools = function () {
    const self = this;
    this.root.querySelector(".patho-measure").addEventListener("click", function () { self.toggleMeasure(); });
    this.root.querySelector(".patho-fullscreen").addEventListener("click", function () { self.toggleFullScreen(); });
    document.addEventListener("fullscreenchange", function () { self.viewer.forceResize(); self.update(); });
    document.addEventListener("patho:slides-changed", function () { self.load(); });
    this.overlay.addEventListener("pointerdown", function (event) { self.measureAt(event, "start"); });
    this.overlay.addEventListener("pointermove", function (event) {
      if (self.measure.start && event.buttons) self.measureAt(event, "end");
    });
  };

  SlideViewer.prototype.load = function () {
    const self = this;
    fetch(this.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (slides) { self.showPicker(slides); })
      .catch(function () { self.showHint(self.msg.msgError); });
  };

  SlideViewer.prototype.showPicker = function (slides) {
    const self = this;
    this.picker.replaceChildren();
    this.root.dataset.slideCount = String(slides.length);
    if (!slides.length) {
      this.picker.append(el("li", { class: "muted" }, this.msg.msgNone));
      return;
    }
    for (const slide of slides) {
      const name = [slide.label || slide.original_name, slide.stain, slide.block].filter(Boolean).join(" · ");
      const button = el("button", { type: "button", "data-slide-id": slide.id, "aria-pressed": "false",
                                    "data-testid": "slide-pick", title: name });
      button.append(el("img", { src: slide.thumbnail_url, alt: "", loading: "lazy" }), el("span", {}, name));
      button.addEventListener("click", function () { self.open(slide); });
      const item = el("li");
      item.append(button);
      this.picker.append(item);
    }
    const current = this.slide && slides.find(function (s) { return s.id === self.slide.id; });
    if (!current) this.open(slides[0]);
  };

  SlideViewer.prototype.open = function (slide) {
    this.slide = slide;
    this.root.dataset.state = "opening";
    this.root.dataset.slideId = String(slide.id);
    for (const button of this.picker.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.slideId === String(slide.id)));
    }
    this.measure.start = this.measure.end = null;
    this.viewer.open(slide.dzi_url);
    this.showMeta(slide);
  };

  SlideViewer.prototype.showMeta = function (slide) {
    const parts = [slide.width + " × " + slide.height + " px"];
    if (slide.objective_power) parts.push(formatMagnification(slide.objective_power));
    if (slide.mpp_x) parts.push(slide.mpp_x.toFixed(3) + " µm/px");
    parts.push(slide.format);
    this.root.querySelector(".patho-meta").textContent = parts.join(" · ");
    const extra = this.root.querySelector(".patho-associated");
    extra.replaceChildren();
    for (const name of slide.associated) {
      const figure = el("figure");
      const base = slide.dzi_url.replace(/\.dzi$/, "");
      figure.append(el("img", { src: base + "/associated/" + name + ".jpeg", alt: "" }),
                    el("figcaption", {}, name === "label" ? this.msg.msgLabel : this.msg.msgMacro));
      extra.append(figure);
    }
  };

  // Image pixels per screen (CSS) pixel at the current zoom.
  SlideViewer.prototype.imageZoom = function () {
    const viewport = this.viewer.viewport;
    return viewport.viewportToImageZoom(viewport.getZoom(true));
  };

  SlideViewer.prototype.update = function () {
    if (!this.slide || !this.viewer.world.getItemCount()) return;
    const zoom = this.imageZoom();
    const slide = this.slide;
    let text = Math.round(zoom * 100) + "%";
    if (slide.objective_power) text = formatMagnification(slide.objective_power * zoom);
    else if (slide.mpp_x) text = "≈" + formatMagnification((10 / slide.mpp_x) * zoom);
    this.magnification.textContent = text;
    this.root.dataset.magnification = String(slide.objective_power ? slide.objective_power * zoom : zoom);
    this.updateScale(zoom);
    this.drawMeasure();
  };

  SlideViewer.prototype.updateScale = function (zoom) {
    const bar = this.scale.querySelector(".patho-scale-bar");
    const label = this.scale.querySelector(".patho-scale-text");
    if (!this.slide.mpp_x) {
      bar.style.width = "0";
      label.textContent = this.msg.msgNoScale;
      return;
    }
    const micronsPerScreenPixel = this.slide.mpp_x / zoom;
    const length = niceLength(micronsPerScreenPixel * 140);
    bar.style.width = Math.round(length / micronsPerScreenPixel) + "px";
    label.textContent = formatLength(length);
  };

  SlideViewer.prototype.toggleMeasure = function () {
    this.measure.on = !this.measure.on;
    this.root.querySelector(".patho-measure").setAttribute("aria-pressed", String(this.measure.on));
    this.overlay.classList.toggle("measuring", this.measure.on);
    this.viewer.setMouseNavEnabled(!this.measure.on);
    this.showHint(this.measure.on ? this.msg.msgMeasureHint : "");
  };

  SlideViewer.prototype.showHint = function (text) {
    this.hint.textContent = text || "";
    this.hint.hidden = !text;
  };

  SlideViewer.prototype.measureAt = function (event, which) {
    if (!this.measure.on) return;
    const box = this.overlay.getBoundingClientRect();
    const point = new OpenSeadragon.Point(event.clientX - box.left, event.clientY - box.top);
    const image = this.viewer.viewport.viewerElementToImageCoordinates(point);
    if (which === "start") {
      this.overlay.setPointerCapture(event.pointerId);
      this.measure.start = image;
    }
    this.measure.end = image;
    this.drawMeasure();
  };

  SlideViewer.prototype.drawMeasure = function () {
    const line = this.overlay.querySelector("line");
    const label = this.overlay.querySelector("text");
    const { start, end } = this.measure;
    if (!start || !end) {
      line.setAttribute("visibility", "hidden");
      label.textContent = "";
      return;
    }
    const viewport = this.viewer.viewport;
    const a = viewport.imageToViewerElementCoordinates(start);
    const b = viewport.imageToViewerElementCoordinates(end);
    line.setAttribute("x1", a.x); line.setAttribute("y1", a.y);
    line.setAttribute("x2", b.x); line.setAttribute("y2", b.y);
    line.setAttribute("visibility", "visible");
    const dx = end.x - start.x;
    const dy = end.y - start.y;
    const slide = this.slide;
    const text = slide.mpp_x
      ? formatLength(Math.hypot(dx * slide.mpp_x, dy * (slide.mpp_y || slide.mpp_x)))
      : Math.round(Math.hypot(dx, dy)) + " px";
    label.setAttribute("x", (a.x + b.x) / 2 + 8);
    label.setAttribute("y", (a.y + b.y) / 2 - 8);
    label.textContent = text;
    this.root.dataset.measurement = text;
  };

  SlideViewer.prototype.toggleFullScreen = function () {
    const stage = this.root;
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else if (stage.requestFullscreen) {
      stage.requestFullscreen().catch(function () { stage.classList.toggle("patho-fill"); });
    } else {
      stage.classList.toggle("patho-fill");  // iPhone Safari: no Fullscreen API for elements
    }
    const viewer = this.viewer;
    setTimeout(function () { viewer.forceResize(); }, 50);
  };

  function start() {
    for (const root of document.querySelectorAll(".patho-viewer")) {
      if (!root.slideViewer) root.slideViewer = new SlideViewer(root);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:afterSettle", start);
})();
