"""Crafted image files: a TIFF whose page chain loops, one with thousands of pages, one that would
decode to gigabytes from a few hundred bytes, links out of an ingested folder — each refused (or
read) in a moment, in one line, reading nothing outside the folder."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from PIL import Image

from labsight.data.images import decode_image
from labsight.data.ingest import read_table
from labsight.exceptions import DataFormatError


def _tiny_tiff(width: int, height: int, samples: int) -> bytes:
    """A ~200-byte TIFF declaring width × height pixels of ``samples`` float64 samples, with one
    small compressed strip (a decoder fills the rest with zeros)."""
    strip = zlib.compress(b"\0" * (width * samples * 8))
    tags = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 64),
        (259, 3, 1, 8),
        (262, 3, 1, 1),
        (273, 4, 1, 0),
        (277, 3, 1, samples),
        (278, 4, 1, 1),
        (279, 4, 1, len(strip)),
        (284, 3, 1, 1),
        (339, 3, 1, 3),
    ]
    start = 8 + 2 + 12 * len(tags) + 4
    tags = [(t[0], t[1], t[2], start) if t[0] == 273 else t for t in tags]
    ifd = struct.pack("<H", len(tags))
    for tag in tags:
        if tag[1] == 4:
            ifd += struct.pack("<HHII", *tag)
        else:
            ifd += struct.pack("<HHIHH", tag[0], tag[1], tag[2], tag[3], 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + strip


def _looped_tiff() -> bytes:
    """A two-page TIFF whose second page points back to the first: a chain without end."""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((2, 8, 8), dtype=np.uint8))
    data = bytearray(buffer.getvalue())
    first = struct.unpack("<I", data[4:8])[0]
    second = first
    for _ in range(2):  # follow the chain to the last page's next-page pointer
        count = struct.unpack("<H", data[second : second + 2])[0]
        pointer = second + 2 + 12 * count
        following = struct.unpack("<I", data[pointer : pointer + 4])[0]
        if following == 0:
            data[pointer : pointer + 4] = struct.pack("<I", first)
            break
        second = following
    return bytes(data)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_looped_tiff, "holds a stack"),
        (lambda: _many_pages(3000), r"holds a stack of 17\+ planes"),
        (lambda: _tiny_tiff(9000, 9000, 8), "GiB decoded"),
    ],
)
def test_crafted_tiffs_are_refused_at_once(make: Any, message: str) -> None:
    data = make()
    tick = time.perf_counter()
    with pytest.raises(DataFormatError, match=message):
        decode_image(data, "crafted.tif")
    assert time.perf_counter() - tick < 5  # the chain is not walked, nothing is decoded


def _many_pages(n: int) -> bytes:
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as tif:
        for _ in range(n):
            tif.write(np.zeros((2, 2), dtype=np.uint8), contiguous=False)
    return buffer.getvalue()


def test_links_out_of_an_ingested_folder_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(outside / "secret.png")
    for layout in ("file", "class"):
        root = tmp_path / f"cells-{layout}"
        for kind in ("a", "b"):
            (root / kind).mkdir(parents=True)
            Image.fromarray(np.full((8, 8), 99, dtype=np.uint8)).save(root / kind / "x.png")
        if layout == "file":
            (root / "a" / "stolen.png").symlink_to(outside / "secret.png")
        else:
            (root / "c").symlink_to(outside, target_is_directory=True)
        with pytest.raises(DataFormatError, match="is a link that leads outside the folder"):
            read_table(root)
    hidden = tmp_path / "hidden"
    for kind in ("a", "b"):
        (hidden / kind / ".thumbs").mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(hidden / kind / "x.png")
        Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(hidden / kind / ".thumbs" / "t.png")
    assert read_table(hidden).frame["file"].to_list() == ["a/x.png", "b/x.png"]
