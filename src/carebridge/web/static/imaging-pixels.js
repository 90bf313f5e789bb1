/* CareBridge image viewer, part 1: pixels (no framework, no outside address).
 *
 * Lists a series with QIDO-RS, fetches raw frames (WADO-RS /frames: uncompressed 8/16-bit) and
 * applies rescale and window/level here, on the full 16-bit values, through a lookup table: a
 * window/level drag redraws in about a millisecond with no server round trip (docs/benchmarks.md).
 * Colour and unusual pixel formats come from the server's /rendered image instead. The first
 * instance's metadata tells the pixel representation of the series. imaging-viewer.js draws.
 */
(function () {
  "use strict";
  if (window.CareBridgeImaging) return;  // included twice (an htmx swap): keep the first copy
  const FRAME_ACCEPT = 'multipart/related; type="application/octet-stream"';
  const INCLUDE = ["PhotometricInterpretation", "PixelSpacing", "SliceLocation", "WindowCenter", "WindowWidth",
                   "RescaleIntercept", "RescaleSlope"].join(",");
  const CACHE_LIMIT = 160;
  const MAX_PARALLEL = 4;
  const timings = [];  // client-side draw times (ms), read by bench/imaging_render.py and the tests

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));
  }

  function value(json, tag) {
    const element = json[tag];
    return element && element.Value ? element.Value : null;
  }

  function first(json, tag, fallback) {
    const v = value(json, tag);
    return v && v.length ? v[0] : fallback;
  }

  function round(n, digits) {
    const f = Math.pow(10, digits || 0);
    return Math.round(n * f) / f;
  }

  /* ---- fetching ---------------------------------------------------------------------------- */

  async function getJson(url, accept) {
    const response = await fetch(url, { headers: { Accept: accept || "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(url + " → " + response.status);
    return response.json();
  }

  function indexOf(bytes, pattern, from) {
    outer: for (let i = from || 0; i <= bytes.length - pattern.length; i++) {
      for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
      return i;
    }
    return -1;
  }

  /* The first part of a multipart/related body (RFC 2046), copied so typed arrays are aligned. */
  function firstPart(buffer, contentType) {
    const match = /boundary="?([^";]+)"?/i.exec(contentType || "");
    const bytes = new Uint8Array(buffer);
    if (!match) return buffer;
    const encoder = new TextEncoder();
    const start = indexOf(bytes, encoder.encode("\r\n\r\n"), 0) + 4;
    const end = indexOf(bytes, encoder.encode("\r\n--" + match[1]), start);
    return bytes.slice(start, end < 0 ? bytes.length : end).buffer;
  }

  const queue = [];
  let running = 0;

  function limited(task) {
    return new Promise((resolve, reject) => {
      queue.push({ task, resolve, reject });
      pump();
    });
  }

  function pump() {
    while (running < MAX_PARALLEL && queue.length) {
      const job = queue.shift();
      running++;
      job.task().then(job.resolve, job.reject).finally(() => { running--; pump(); });
    }
  }

  /* ---- a series: its slices (instance × frame) and how to get each one's pixels ------------- */

  class Series {
    constructor(dicomweb, study, series) {
      this.dicomweb = dicomweb;
      this.study = study;
      this.info = series;
      this.slices = [];
      this.cache = new Map();
      this.pending = new Map();
    }

    url(suffix) {
      return this.dicomweb + "/studies/" + this.study.study_uid + "/series/" + this.info.series_uid + (suffix || "");
    }

    async load() {
      const instances = [];
      for (let offset = 0; ; offset += 1000) {
        const page = await getJson(this.url("/instances?includefield=" + INCLUDE + "&limit=1000&offset=" + offset),
                                   "application/dicom+json");
        instances.push(...page);
        if (page.length < 1000) break;
      }
      instances.sort((a, b) => (first(a, "00200013", 0) - first(b, "00200013", 0)) ||
                               (first(b, "00201041", 0) - first(a, "00201041", 0)));
      if (!instances.length) return this;
      const sample = (await getJson(this.url("/instances/" + first(instances[0], "00080018") + "/metadata"),
                                    "application/dicom+json"))[0];
      this.signed = first(sample, "00280103", 0) === 1;
      this.samples = first(sample, "00280002", 1);
      this.planar = first(sample, "00280006", 0);
      for (const inst of instances) {
        const frames = Number(first(inst, "00280008", 1)) || 1;
        const meta = {
          uid: first(inst, "00080018"), number: first(inst, "00200013", null),
          rows: first(inst, "00280010", 0), columns: first(inst, "00280011", 0),
          bits: first(inst, "00280100", 16), photometric: first(inst, "00280004", "MONOCHROME2"),
          spacing: value(inst, "00280030"), location: first(inst, "00201041", null),
          center: first(inst, "00281050", null), width: first(inst, "00281051", null),
          slope: Number(first(inst, "00281053", 1)) || 1, intercept: Number(first(inst, "00281052", 0)) || 0,
        };
        for (let f = 1; f <= frames; f++) this.slices.push({ meta, frame: f, key: meta.uid + "/" + f });
      }
      return this;
    }

    rawCapable(meta) {
      const photometric = String(meta.photometric).toUpperCase();
      return this.samples === 1 && (meta.bits === 8 || meta.bits === 16) &&
             (photometric === "MONOCHROME1" || photometric === "MONOCHROME2");
    }

    pixels(index) {
      const slice = this.slices[index];
      if (!slice) return Promise.reject(new Error("no slice"));
      if (this.cache.has(slice.key)) {
        const hit = this.cache.get(slice.key);
        this.cache.delete(slice.key);
        this.cache.set(slice.key, hit);  // most recently used last
        return Promise.resolve(hit);
      }
      if (!this.pending.has(slice.key)) {
        const job = limited(() => (this.rawCapable(slice.meta) ? this.fetchRaw(slice) : this.fetchRendered(slice)))
          .then((image) => {
            this.cache.set(slice.key, image);
            while (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value);
            return image;
          })
          .finally(() => this.pending.delete(slice.key));
        this.pending.set(slice.key, job);
      }
      return this.pending.get(slice.key);
    }

    async fetchRaw(slice) {
      const url = this.url("/instances/" + slice.meta.uid + "/frames/" + slice.frame);
      const response = await fetch(url, { headers: { Accept: FRAME_ACCEPT }, credentials: "same-origin" });
      if (!response.ok) throw new Error("frame " + response.status);
      const buffer = firstPart(await response.arrayBuffer(), response.headers.get("Content-Type"));
      const m = slice.meta;
      const data = m.bits === 16 ? (this.signed ? new Int16Array(buffer) : new Uint16Array(buffer))
        : (this.signed ? new Int8Array(buffer) : new Uint8Array(buffer));
      let low = Infinity, high = -Infinity;
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (v < low) low = v;
        if (v > high) high = v;
      }
      return { kind: "raw", data, width: m.columns, height: m.rows, low, high };
    }

    async fetchRendered(slice) {
      const url = this.url("/instances/" + slice.meta.uid + "/frames/" + slice.frame + "/rendered");
      const response = await fetch(url, { headers: { Accept: "image/png" }, credentials: "same-origin" });
      if (!response.ok) throw new Error("rendered " + response.status);
      const bitmap = await createImageBitmap(await response.blob());
      return { kind: "bitmap", bitmap, width: bitmap.width, height: bitmap.height };
    }
  }

  /* ---- window/level in the browser: a lookup table over the frame's stored values ---------- */

  function windowTable(image, meta, center, width, invert) {
    const size = image.high - image.low + 1;
    const table = new Uint8ClampedArray(size);
    const lowEdge = center - 0.5 - (width - 1) / 2;
    for (let i = 0; i < size; i++) {
      const v = (image.low + i) * meta.slope + meta.intercept;  // modality LUT (rescale)
      let y;
      if (width <= 1) y = v > center - 0.5 ? 255 : 0;  // PS3.3 C.11.2.1.2.1 LINEAR
      else if (v <= lowEdge) y = 0;
      else if (v > lowEdge + width - 1) y = 255;
      else y = ((v - (center - 0.5)) / (width - 1) + 0.5) * 255;
      table[i] = invert ? 255 - y : y;
    }
    return table;
  }

  function drawRaw(image, meta, center, width, target) {
    const started = performance.now();
    const invert = String(meta.photometric).toUpperCase() === "MONOCHROME1";
    const table = windowTable(image, meta, center, width, invert);
    const out = target.data;
    const data = image.data;
    const low = image.low;
    for (let i = 0, j = 0; i < data.length; i++, j += 4) {
      const g = table[data[i] - low];
      out[j] = g; out[j + 1] = g; out[j + 2] = g; out[j + 3] = 255;
    }
    timings.push(performance.now() - started);
    if (timings.length > 500) timings.shift();
  }

  window.CareBridgeImaging = { timings, drawRaw, Series, fill, first, value, round, getJson };
})();
