"""Just enough PNG to draw calbot's two Teams icons, with zlib and struct only.

A drawing library would be a new dependency for two small pictures; an RGBA canvas
with filled rectangles and rounded rectangles covers them, and the encoder is the
PNG format's minimum: IHDR, one IDAT (filter 0 on every row), IEND.
"""

from __future__ import annotations

import struct
import zlib

RGBA = tuple[int, int, int, int]
SIGNATURE = b"\x89PNG\r\n\x1a\n"


def hex_rgba(color: str, alpha: int = 255) -> RGBA:
    value = color.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), alpha)


class Canvas:
    def __init__(self, width: int, height: int, fill: RGBA = (0, 0, 0, 0)) -> None:
        self.width = width
        self.height = height
        self._pixels = bytearray(bytes(fill) * (width * height))

    def pixel(self, x: int, y: int) -> RGBA:
        i = (y * self.width + x) * 4
        r, g, b, a = self._pixels[i : i + 4]
        return (r, g, b, a)

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: RGBA, radius: int = 0) -> None:
        """Fill [x0, x1) × [y0, y1), corners rounded with `radius` (no anti-aliasing)."""
        for y in range(max(y0, 0), min(y1, self.height)):
            for x in range(max(x0, 0), min(x1, self.width)):
                if radius and not _inside_rounded(x, y, x0, y0, x1, y1, radius):
                    continue
                i = (y * self.width + x) * 4
                self._pixels[i : i + 4] = bytes(color)

    def frame(self, x0: int, y0: int, x1: int, y1: int, width: int, color: RGBA) -> None:
        """An outline `width` pixels thick along the inside of [x0, x1) × [y0, y1)."""
        self.rect(x0, y0, x1, y0 + width, color)
        self.rect(x0, y1 - width, x1, y1, color)
        self.rect(x0, y0, x0 + width, y1, color)
        self.rect(x1 - width, y0, x1, y1, color)

    def to_png(self) -> bytes:
        return encode_png(self.width, self.height, bytes(self._pixels))


def _inside_rounded(x: int, y: int, x0: int, y0: int, x1: int, y1: int, r: int) -> bool:
    # Distance from the pixel centre to the nearest corner circle's centre.
    cx = min(max(x + 0.5, x0 + r), x1 - r)
    cy = min(max(y + 0.5, y0 + r), y1 - r)
    return (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r


def encode_png(width: int, height: int, rgba: bytes) -> bytes:
    """8-bit RGBA, non-interlaced."""
    if len(rgba) != width * height * 4:
        raise ValueError("pixel data does not match the size")
    stride = width * 4
    raw = b"".join(b"\x00" + rgba[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
