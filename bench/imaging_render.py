"""Rendering a 512 x 512 CT frame: the server's /rendered pipeline and the viewer's in-browser
window/level, on this machine. Results go to docs/benchmarks.md.

    .venv/bin/python bench/imaging_render.py [--runs 200] [--no-browser]

Server side (one thread, as one request's `asyncio.to_thread` runs it): the whole `rendering.render`
(parse the stored Part 10 bytes, decode, rescale, window, encode) as JPEG and PNG, a 128-px
thumbnail, the uncompressed frame for /frames, and the stages of the JPEG render one by one; the
lookup-table window against plain float arithmetic on every pixel.
Browser side (Debian's Chromium through Playwright): the viewer's own `drawRaw` (rescale + window
through a lookup table into RGBA) plus `putImageData`, for a new window on every draw, as a drag
of the window/level tool does. The server figure is a lower bound of a server round trip per
window change (HTTP, authorisation and decoding the JPEG come on top)."""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pydicom

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from carebridge.diagnostics.imaging import dicomweb_media, rendering  # noqa: E402
from carebridge.diagnostics.imaging.rendering import PNG, RenderOptions, Window  # noqa: E402
from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_dataset, part10_bytes  # noqa: E402

VIEWER_JS = ROOT / "src/carebridge/web/static/imaging-pixels.js"


def timed(fn, runs: int) -> tuple[float, float]:  # noqa: ANN001
    fn()  # warm-up (imports, allocator)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def server_rows(data: bytes, runs: int) -> list[tuple[str, float, float]]:
    ds = rendering.read_dataset(data)
    pixels = rendering.decode_frame(ds, 0)
    display = rendering.to_display(ds, 0, Window(40, 80))

    def naive() -> None:  # the same window without the lookup table: float math on all 262,144 pixels
        values = pixels.astype(np.float64) * 1.0 - 1024.0
        rendering.apply_window(values, Window(40, 80)).round().astype(np.uint8)

    cases = [
        ("render JPEG q90, stored window (whole /rendered work)", lambda: rendering.render(data, RenderOptions())),
        ("render JPEG q90, window=40,80", lambda: rendering.render(data, RenderOptions(window=Window(40, 80)))),
        ("render PNG, window=40,80", lambda: rendering.render(data, RenderOptions(window=Window(40, 80),
                                                                                 media_type=PNG))),
        ("thumbnail 128 px JPEG", lambda: rendering.render(data, RenderOptions(viewport=(128, 128)))),
        ("/frames: uncompressed frame bytes", lambda: dicomweb_media.frame_bytes(rendering.read_dataset(data), 0)),
        ("  stage: parse Part 10 (pydicom)", lambda: rendering.read_dataset(data)),
        ("  stage: decode pixel data", lambda: rendering.decode_frame(ds, 0)),
        ("  stage: rescale + window, lookup table", lambda: rendering.grayscale_to_8bit(
            pixels, 1.0, -1024.0, Window(40, 80), False)),
        ("  stage: rescale + window, float per pixel", naive),
        ("  stage: JPEG encode (Pillow)", lambda: rendering.encode(display, None, rendering.JPEG, 90)),
    ]
    return [(name, *timed(fn, runs)) for name, fn in cases]


BROWSER_JS = """async (runs) => {
  const w = 512, h = 512, data = new Uint16Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const r = Math.hypot(x - 256, y - 256);
    data[y * w + x] = r < 215 ? (r > 195 ? 1724 : 1064 + ((x * 7 + y * 13) % 40)) : 24;
  }
  let low = Infinity, high = -Infinity;
  for (const v of data) { if (v < low) low = v; if (v > high) high = v; }
  const image = {kind: 'raw', data, width: w, height: h, low, high};
  const meta = {slope: 1, intercept: -1024, photometric: 'MONOCHROME2'};
  const canvas = document.createElement('canvas'); canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d');
  const target = ctx.createImageData(w, h);
  const out = [];
  for (let i = 0; i < runs + 5; i++) {
    const t = performance.now();
    window.CareBridgeImaging.drawRaw(image, meta, 40 + (i % 50), 80 + 2 * (i % 50), target);
    ctx.putImageData(target, 0, 0);
    if (i >= 5) out.push(performance.now() - t);
  }
  out.sort((a, b) => a - b);
  return [out[Math.floor(out.length / 2)], out[Math.floor(out.length * 0.95) - 1]];
}"""


async def browser_row(runs: int) -> tuple[str, float, float] | None:
    chromium = shutil.which("chromium")
    if not chromium:
        return None
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = await browser.new_page()
        await page.set_content("<!doctype html><title>bench</title>")
        await page.add_script_tag(content=VIEWER_JS.read_text())
        median, p95 = await page.evaluate(BROWSER_JS, runs)
        version = browser.version
        await browser.close()
    return f"browser: drawRaw + putImageData, new window each draw (Chromium {version})", median, p95


def noisy_ct_frame() -> bytes:
    """The ingest's synthetic head CT slice with scanner-like noise (sigma 8 HU, fixed seed): a flat
    phantom would flatter the JPEG encoder."""
    ds = ct_dataset(SeriesSpec(size=512), 0)
    clean = np.frombuffer(ds.PixelData, dtype=np.uint16).astype(np.int32)
    noise = np.random.default_rng(7).normal(0, 8, clean.shape).round().astype(np.int32)
    ds.PixelData = np.clip(clean + noise, 0, 4095).astype(np.uint16).tobytes()
    return part10_bytes(ds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    data = noisy_ct_frame()
    check = pydicom.dcmread(io.BytesIO(data))
    print(f"frame: {check.Rows}x{check.Columns}, {check.BitsAllocated}-bit, {len(data):,} bytes; "
          f"pydicom {pydicom.__version__}, numpy {np.__version__}; {args.runs} runs each")
    rows = server_rows(data, args.runs)
    if not args.no_browser:
        found = asyncio.run(browser_row(args.runs))
        if found:
            rows.append(found)
    width = max(len(name) for name, _, _ in rows)
    print(f"| {'what':<{width}} | median ms | p95 ms |")
    print(f"|{'-' * (width + 2)}|----------:|-------:|")
    for name, median, p95 in rows:
        print(f"| {name:<{width}} | {median:9.2f} | {p95:6.2f} |")


if __name__ == "__main__":
    main()
