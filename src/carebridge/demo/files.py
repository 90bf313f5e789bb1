"""Small but valid demo documents made in code: a one-page PDF report and a PNG ECG strip."""

from __future__ import annotations

import math
import struct
import zlib


def _pdf_text(value: str) -> str:
    ascii_only = value.encode("ascii", "replace").decode()
    return ascii_only.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_report(title: str, lines: list[str]) -> bytes:
    """A one-page A4 PDF in Helvetica (ASCII text; PDF base fonts carry no Chinese glyphs)."""
    ops = ["BT", "/F1 18 Tf", "72 770 Td", f"({_pdf_text(title)}) Tj", "/F1 11 Tf", "0 -30 Td"]
    for line in lines:
        ops += [f"({_pdf_text(line)}) Tj", "0 -16 Td"]
    ops.append("ET")
    content = "\n".join(ops).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_rgb(width: int, height: int, pixels: list[bytearray]) -> bytes:
    """PNG (8-bit RGB, no interlace) from rows of width*3 bytes."""
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)  # filter type 0 on every row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + \
        _chunk(b"IEND", b"")


def _ecg_wave(phase: float) -> float:
    """One heartbeat (P, QRS, T) as a sum of bumps; phase in [0, 1)."""
    def bump(centre: float, width: float, height: float) -> float:
        return height * math.exp(-((phase - centre) / width) ** 2)

    return (bump(0.18, 0.035, 0.12) - bump(0.31, 0.008, 0.1) + bump(0.335, 0.012, 1.0)
            - bump(0.36, 0.01, 0.25) + bump(0.6, 0.06, 0.3))


def ecg_strip_png(heart_rate: int = 72, width: int = 600, height: int = 160) -> bytes:
    """A rhythm strip at 25 mm/s on ECG paper (5 px = 1 mm), as printed by a bedside cart."""
    paper, fine, bold, ink = (255, 246, 246), (250, 205, 205), (238, 150, 150), (20, 20, 40)
    rows = [bytearray(paper * width) for _ in range(height)]
    for y in range(height):
        for x in range(width):
            if x % 25 == 0 or y % 25 == 0:
                rows[y][3 * x:3 * x + 3] = bytes(bold)
            elif x % 5 == 0 or y % 5 == 0:
                rows[y][3 * x:3 * x + 3] = bytes(fine)
    beat_px = 60 / heart_rate * 125  # 25 mm/s * 5 px/mm
    baseline, gain, previous = height * 0.62, height * 0.5, None
    for x in range(width):
        y = int(baseline - gain * _ecg_wave((x / beat_px) % 1.0))
        span = range(min(y, previous), max(y, previous) + 1) if previous is not None else [y]
        for yy in span:
            for dy in (0, 1):
                if 0 <= yy + dy < height:
                    rows[yy + dy][3 * x:3 * x + 3] = bytes(ink)
        previous = y
    return png_rgb(width, height, rows)
