"""Draw the ribbon icons (PNG, 16/32/80 px) into the add-in's static files.

Run from the repository root: ``python addin/make_icons.py``. Plain Python
(zlib + struct), no image library: each icon is a rounded tile with a simple
white glyph drawn from a few shapes, so it stays readable at 16 px.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "server/gradesync/addin/static/img"
TILES = {"check": (16, 124, 16), "send": (15, 108, 189), "refresh": (202, 80, 16),
         "pane": (15, 76, 129)}  # fmt: skip


def _png(size: int, pixels: list[list[tuple[int, int, int, int]]]) -> bytes:
    raw = b"".join(b"\x00" + b"".join(struct.pack("4B", *p) for p in row) for row in pixels)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def _near_segment(x: float, y: float, a: tuple, b: tuple, w: float) -> bool:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - (ax + t * dx), y - (ay + t * dy)) <= w


def _glyph(name: str, u: float, v: float) -> bool:
    """Is the unit-square point (u, v) white for this glyph?"""
    w = 0.08
    if name == "check":
        return _near_segment(u, v, (0.25, 0.52), (0.43, 0.70), w) or _near_segment(
            u, v, (0.43, 0.70), (0.76, 0.32), w
        )
    if name == "send":
        return (
            _near_segment(u, v, (0.25, 0.5), (0.75, 0.5), w)
            or _near_segment(u, v, (0.55, 0.3), (0.75, 0.5), w)
            or _near_segment(u, v, (0.55, 0.7), (0.75, 0.5), w)
        )
    if name == "refresh":
        r = math.hypot(u - 0.5, v - 0.5)
        angle = math.atan2(v - 0.5, u - 0.5)
        ring = abs(r - 0.25) <= w and not (-0.9 < angle < -0.1)
        return ring or _near_segment(u, v, (0.73, 0.22), (0.74, 0.42), w * 0.8)
    # pane: a sheet with rows, the right column green/red
    inside = 0.22 <= u <= 0.78 and 0.22 <= v <= 0.78
    lines = any(abs(v - y) < 0.03 for y in (0.38, 0.52, 0.66)) or abs(u - 0.56) < 0.03
    return inside and not lines


def icon(name: str, size: int) -> bytes:
    tile = TILES[name]
    radius = size * 0.18
    rows = []
    for y in range(size):
        row = []
        for x in range(size):
            cx = min(max(x + 0.5, radius), size - radius)
            cy = min(max(y + 0.5, radius), size - radius)
            if math.hypot(x + 0.5 - cx, y + 0.5 - cy) > radius:
                row.append((0, 0, 0, 0))
            elif _glyph(name, (x + 0.5) / size, (y + 0.5) / size):
                row.append((255, 255, 255, 255))
            else:
                row.append((*tile, 255))
        rows.append(row)
    return _png(size, rows)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in TILES:
        for size in (16, 32, 64, 80):
            (OUT / f"{name}-{size}.png").write_bytes(icon(name, size))
    print(f"icons written to {OUT}")


if __name__ == "__main__":
    main()
