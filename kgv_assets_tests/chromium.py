"""Drive the system's headless Chromium and judge what it rendered (no browser-automation deps).

``load`` runs Debian's ``chromium`` once per page: it saves a screenshot and returns the rendered
DOM (after the page's scripts ran for a virtual 15 s). ``colour_stats`` decodes the PNG with
zlib alone (all five PNG row filters) so a test can tell a rendered page from a blank one.
"""

from __future__ import annotations

import html
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--virtual-time-budget=15000",
    "--window-size=1600,1000",
)
ERROR_TEXTS = (
    "unexpected error",
    "unknown error",
    "an error occurred",
    "went wrong",
    "not found",
    "failed to load",
    "unable to load",
    "pythonerror",
    "while fetching data",
)
"""What the Dagster UI shows when a page or a query fails (from its bundle's messages)."""


def executable() -> str:
    """The chromium binary; fails (never skips) the test when it is missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(
            "chromium is not installed: run `docker/install-system-packages.sh browser` "
            "(`make test` does it)",
            pytrace=False,
        )
    return found


@dataclass(frozen=True)
class Page:
    """What Chromium rendered: the DOM, its visible text and the screenshot."""

    dom: str
    screenshot: Path

    @property
    def text(self) -> str:
        """The visible text (no style or script content), whitespace collapsed."""
        body = re.sub(r"(?is)<(style|script)\b[^>]*>.*?</\1>", " ", self.dom)
        return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()

    def errors(self) -> list[str]:
        """The error messages of ``ERROR_TEXTS`` found in the visible text."""
        text = self.text.lower()
        return [e for e in ERROR_TEXTS if e in text]


def load(url: str, screenshot: Path, profile: Path) -> Page:
    """Load ``url`` in a fresh headless Chromium profile; save a screenshot, return the DOM."""
    cmd = [
        executable(),
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--screenshot={screenshot}",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert screenshot.is_file(), done.stderr[-2000:]
    return Page(done.stdout, screenshot)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(kind: int, row: bytearray, prev: bytearray, bpp: int) -> bytearray:
    if kind == 1:  # Sub
        for i in range(bpp, len(row)):
            row[i] = (row[i] + row[i - bpp]) & 0xFF
    elif kind == 2:  # Up
        row = bytearray((x + y) & 0xFF for x, y in zip(row, prev, strict=True))
    elif kind == 3:  # Average
        for i in range(len(row)):
            left = row[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
    elif kind == 4:  # Paeth
        for i in range(len(row)):
            left, up_left = (row[i - bpp], prev[i - bpp]) if i >= bpp else (0, 0)
            row[i] = (row[i] + _paeth(left, prev[i], up_left)) & 0xFF
    return row


def pixels(png: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGB pixels of an 8-bit RGB/RGBA, non-interlaced PNG."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
    pos, idat, header = 8, bytearray(), b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG format"
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(bytes(idat)), width * bpp
    prev, out = bytearray(stride), []
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), prev, bpp)
        out.extend(bytes(row[x : x + 3]) for x in range(0, stride, bpp))
        prev = row
    return width, height, out


def colour_stats(png: Path) -> tuple[int, float]:
    """Distinct colours, and the share of pixels not in the most common (background) colour."""
    _, _, rgb = pixels(png)
    counts = Counter(rgb)
    background = counts.most_common(1)[0][1]
    return len(counts), 1 - background / len(rgb)


def save_for_docs(screenshot: Path, directory: str | None, name: str) -> None:
    """Copy a screenshot into ``directory`` (the README's images) when one is given."""
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, Path(directory) / name)
