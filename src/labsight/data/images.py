"""Images as data: reading microscope and camera images, and tables of them.

An image dataset is a table with one column of logical type ``image`` (:class:`ColumnInfo` dtype
``"image"``): each cell is the sha256 of an image file's bytes, the name of that file in the
artifact store (content-addressed like every stored file), next to its label and metadata. Two
layouts are read:

- a **folder with one sub-folder per class** (``cells/healthy/*.png``, ``cells/infected/*.tif``):
  columns ``image``, ``label`` (role target), ``file`` (the path under the folder, role id),
  ``width``, ``height``, ``channels`` (role id); a folder of images without sub-folders has no
  ``label``;
- a **table whose column holds image paths** (``ingest plates.csv --images image_path``): the
  paths are read relative to the table's folder (one that leads outside it is refused), and an
  ``image`` column is added beside the table's own columns.

Every file is decoded in full when it is read, so a truncated or unreadable image is refused at
ingest, naming the file, not at training. PNG, JPEG, BMP and GIF are read by Pillow (its
decompression-bomb limit applies), TIFF and OME-TIFF by ``tifffile`` (2-D planes: grey, RGB, or a
few channels; a 3-D stack or a time series is refused with a hint).

:class:`ImageRef` is how a model sees a cell: the key, the file name for messages and a reader of
the bytes (the artifact store for a stored version, the files on disk for a folder read for
``predict``). :meth:`ImageRef.pixels` returns the image at a network's input size and channel
count, scaled to [0, 1] — 8-bit images by 255, others (16-bit fluorescence, floats) by their
1st–99.8th percentiles, as microscopy tools normalise — and keeps the result in a cache of at most
:data:`CACHE_BYTES`, so memory is bounded whatever the number of images.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from labsight.exceptions import DataFormatError, InputError, NotFoundError

__all__ = [
    "CACHE_BYTES",
    "IMAGE_SUFFIXES",
    "ArrayCache",
    "ImageFiles",
    "ImageRef",
    "decode_image",
    "decode_raw",
    "image_column_of",
    "image_file_frame",
    "image_folder_frame",
    "image_paths_frame",
    "is_image_file",
    "sample_shape",
]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif"})
"""Extensions read as images (``.ome.tif`` is a ``.tif``)."""

CACHE_BYTES = 512 * 1024 * 1024
"""The most memory the decoded, resized images kept between epochs may take."""

MAX_PIXELS = 100_000_000
"""The largest image read, in pixels per plane (a 10,000 × 10,000 slide scan)."""

MAX_DECODED_BYTES = 1 << 30
"""The most memory one decoded image may take (pixels × samples × bytes, as float32 at least)."""

MAX_CHANNELS = 16
"""The most channels (samples per pixel, or pages of one plane) an image may have."""

_PILLOW_FORMATS = ("PNG", "JPEG", "BMP", "GIF")
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def is_image_file(path: Path) -> bool:
    """Whether ``path`` is named as an image labsight reads (hidden files are not)."""
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def decode_image(data: bytes, name: str) -> np.ndarray:
    """The image in ``data`` as float32, height × width × channels, scaled to [0, 1].

    Raises
    ------
    DataFormatError
        For bytes that are not an image labsight reads, a truncated or corrupt file, a stack of
        planes, or an image over :data:`MAX_PIXELS`.
    """
    return _scaled(decode_raw(data, name))


def decode_raw(data: bytes, name: str) -> np.ndarray:
    """The image in ``data`` as stored (its own type), height × width × channels: a mask's labels
    stay labels. Refuses what :func:`decode_image` refuses."""
    array = _read_tiff(data, name) if data[:4] in _TIFF_MAGIC else _read_pillow(data, name)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[0] < 2 or array.shape[1] < 2:
        raise DataFormatError(
            f"the image is {array.shape[1]} × {array.shape[0]} pixels",
            path=name,
            expected="at least 2 × 2 pixels",
        )
    return array


def _read_pillow(data: bytes, name: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        # only the formats labsight reads: Pillow's many other decoders are not reachable; its
        # decompression-bomb warning is not ours (MAX_PIXELS and the decoded size are checked)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS)
        with image:
            _check_size(image.height, image.width, len(image.getbands()), 1, name)
            image.load()  # decodes every byte: a truncated file fails here
            mode = image.mode
            if mode in ("P", "PA", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
                return np.asarray(image.convert("RGB"))
            if mode in ("1", "LA"):
                return np.asarray(image.convert("L"))
            return np.asarray(image)
    except DataFormatError:
        raise
    except UnidentifiedImageError:
        raise DataFormatError(
            "not an image labsight can read",
            path=name,
            expected="PNG, JPEG, TIFF (or OME-TIFF), BMP or GIF",
        ) from None
    except Exception as exc:  # Pillow raises many kinds on a corrupt file (OSError, ValueError …)
        raise DataFormatError(
            f"the image cannot be decoded ({str(exc)[:120]})",
            path=name,
            hint="The file may be truncated or corrupt: export it again",
        ) from None


def _read_tiff(data: bytes, name: str) -> np.ndarray:
    """One plane (grey, RGB, or up to :data:`MAX_CHANNELS` channels stored as pages), read from
    the first pages only: a file's page chain is never walked further, so a chain that loops
    back on itself, or 30,000 pages, costs nothing; the decoded size is checked (pixels ×
    samples × bytes per sample) before anything is decoded."""
    import logging

    import tifffile

    logging.getLogger("tifffile").setLevel(logging.CRITICAL)  # its notes are not our messages
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            pages: list[Any] = []
            seen: set[int] = set()
            page: Any = tif.pages.first
            ended = False  # whether the chain of pages ended within MAX_CHANNELS pages
            while len(pages) <= MAX_CHANNELS:
                if page is None:
                    ended = True
                    break
                if page.offset in seen:  # a chain that points back: stop reading it
                    break
                seen.add(page.offset)
                pages.append(page)
                page = _page(tif, len(pages))
            first = pages[0]
            series_axes = str(tif.series[0].axes) if ended and len(pages) > 1 else ""
            if len(pages) > 1 and "C" not in series_axes:  # planes that are not channels
                more = "+" if not ended else ""
                axes_said = f" (axes {series_axes})" if series_axes else ""
                raise _stack(f"a stack of {len(pages)}{more} planes{axes_said}", name)
            if any(p.shape != first.shape for p in pages[1:]):
                raise _stack(f"a stack of {len(pages)} planes of different shapes", name)
            shape = tuple(int(n) for n in first.shape)
            axes = str(first.axes)
            if axes not in ("YX", "YXS", "SYX"):
                raise _stack(f"a stack (axes {axes}, shape {shape})", name)
            height, width = shape[axes.index("Y")], shape[axes.index("X")]
            per_page = shape[axes.index("S")] if "S" in axes else 1
            samples = per_page * len(pages)
            if samples > MAX_CHANNELS:
                raise DataFormatError(
                    f"the TIFF has {samples} channels",
                    path=name,
                    expected=f"at most {MAX_CHANNELS}",
                    hint="Save the channels that matter, one plane per file",
                )
            itemsize = first.dtype.itemsize if first.dtype is not None else 8
            _check_size(height, width, samples, itemsize, name)
            planes = []
            for p in pages:
                plane = np.asarray(p.asarray())
                if axes == "SYX":  # samples stored first (planar): last
                    plane = np.moveaxis(plane, 0, -1)
                planes.append(plane.reshape(height, width, -1))
            return np.concatenate(planes, axis=2) if len(planes) > 1 else planes[0]
    except DataFormatError:
        raise
    except Exception as exc:  # tifffile raises many kinds on a corrupt file
        raise DataFormatError(
            f"the TIFF cannot be decoded ({str(exc)[:120]})",
            path=name,
            hint="The file may be truncated or corrupt: export it again",
        ) from None


def _stack(what: str, name: str) -> DataFormatError:
    """The refusal of a TIFF that holds ``what`` rather than one plane."""
    return DataFormatError(
        f"the TIFF holds {what}",
        path=name,
        expected=f"one 2-D plane (grey, RGB, or up to {MAX_CHANNELS} channels)",
        hint="Save one plane per file (or a projection of the stack)",
    )


def _page(tif: Any, index: int) -> Any:
    """Page ``index`` of a TIFF, or None past its last (reading only up to that page)."""
    try:
        return tif.pages.get(index)
    except IndexError:
        return None


def _check_size(height: int, width: int, samples: int, itemsize: int, name: str) -> None:
    """Refuse an image over :data:`MAX_PIXELS` pixels or :data:`MAX_DECODED_BYTES` decoded."""
    if height * width > MAX_PIXELS:
        raise DataFormatError(
            f"the image is {width} × {height} pixels",
            path=name,
            expected=f"at most {MAX_PIXELS:,} pixels",
            hint="Cut it into tiles first",
        )
    decoded = height * width * samples * max(itemsize, 4)  # read as float32 at least once
    if decoded > MAX_DECODED_BYTES:
        raise DataFormatError(
            f"the image would take {decoded / 2**30:.1f} GiB decoded ({width} × {height} pixels, "
            f"{samples} samples of {itemsize} bytes)",
            path=name,
            expected=f"at most {MAX_DECODED_BYTES / 2**30:.0f} GiB",
            hint="Cut it into tiles, or save fewer channels",
        )


def _scaled(array: np.ndarray) -> np.ndarray:
    """Pixels in [0, 1]: 8-bit by 255, booleans as they are, others by their percentiles."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    values = array.astype(np.float32)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros_like(values)
    low, high = np.percentile(finite, [1.0, 99.8])
    if high <= low:
        high = low + 1.0
    values = np.nan_to_num(values, nan=float(low))
    scaled: np.ndarray = np.clip((values - low) / (high - low), 0.0, 1.0).astype(np.float32)
    return scaled


# -- references and the cache --------------------------------------------------------------


class ArrayCache:
    """Arrays by key (an image's key, size and channels), least recently used dropped past a
    byte budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.items: OrderedDict[tuple[object, ...], np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> np.ndarray | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def get_or_make(self, key: tuple[object, ...], make: Callable[[], np.ndarray]) -> np.ndarray:
        """The array kept under ``key``, else ``make()``'s, kept for the next call."""
        found = self.get(key)
        if found is None:
            found = make()
            self.put(key, found)
        return found

    def put(self, key: tuple[object, ...], value: np.ndarray) -> None:
        with self.lock:
            if key in self.items or value.nbytes > self.budget:
                return
            self.items[key] = value
            self.used += value.nbytes
            while self.used > self.budget:
                _, old = self.items.popitem(last=False)
                self.used -= old.nbytes


_CACHE = ArrayCache(CACHE_BYTES)


@dataclass(frozen=True, eq=False)
class ImageRef:
    """One image as a model reads it: its key (the sha256 of its file), the name messages use,
    and how to get its bytes. Two references to the same bytes are equal."""

    key: str
    name: str
    read: Callable[[str], bytes] = field(repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ImageRef) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        return self.name

    def array(self) -> np.ndarray:
        """The whole image, height × width × channels, in [0, 1] (not cached)."""
        return decode_image(self.read(self.key), self.name)

    def full(self, channels: int) -> np.ndarray:
        """The image at its own size as ``channels`` × height × width float32 in [0, 1] (grey
        repeated into colour, colour averaged into grey), kept in the bounded cache."""
        return _CACHE.get_or_make(
            (self.key, 0, channels),
            lambda: np.ascontiguousarray(
                _with_channels(self.array(), channels, self.name).transpose(2, 0, 1)
            ),
        )

    def foreground(self) -> np.ndarray:
        """A mask image as booleans, height × width: any non-zero value (a label, 255) is
        foreground, in any channel."""
        return _CACHE.get_or_make(
            (self.key, -1, 0),
            lambda: np.any(decode_raw(self.read(self.key), self.name) != 0, axis=2),
        )

    def pixels(self, size: int, channels: int) -> np.ndarray:
        """The image as ``channels`` × ``size`` × ``size`` float32 in [0, 1]: resized (with
        anti-aliasing; a non-square image is stretched), grey repeated into RGB, RGB averaged
        into grey. Kept in a bounded cache for the next epoch."""
        return _CACHE.get_or_make(
            (self.key, size, channels),
            lambda: _resize(_with_channels(self.array(), channels, self.name), size),
        )


def sample_shape(refs: list[ImageRef], sample: int = 16) -> tuple[int, int]:
    """The larger side of the largest of the first ``sample`` images, and the channels a network
    reads them with (3 when any of them is in colour, else 1), each image decoded once."""
    shapes = [r.array().shape for r in refs[:sample]]
    return max(max(h, w) for h, w, _ in shapes), 3 if any(c > 1 for _, _, c in shapes) else 1


def _with_channels(image: np.ndarray, channels: int, name: str) -> np.ndarray:
    have = image.shape[2]
    if have == channels:
        return image
    if have == 1:
        return np.repeat(image, channels, axis=2)
    if channels == 1:
        return image.mean(axis=2, keepdims=True)  # type: ignore[no-any-return]
    if have > channels:
        return image[:, :, :channels]
    raise DataFormatError(
        f"the image has {have} channels",
        path=name,
        expected=f"1 or {channels} channels, as the training images",
    )


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    if tensor.shape[-2:] != (size, size):
        tensor = F.interpolate(
            tensor, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    return tensor[0].clamp(0.0, 1.0).numpy().astype(np.float32, copy=False)


class ImageFiles:
    """The images of a table: files found on disk (by key) before they are stored, and the
    store's reader afterwards."""

    def __init__(
        self, files: Mapping[str, Path] | None = None, store: Callable[[str], bytes] | None = None
    ) -> None:
        self.files = dict(files or {})
        self.store = store

    def read(self, key: str) -> bytes:
        path = self.files.get(key)
        if path is not None:
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != key:
                raise DataFormatError("the image changed on disk since it was read", path=str(path))
            return data
        if self.store is None:
            raise NotFoundError(f"no image {key[:12]}… in this table")
        return self.store(key)

    def refs(self, keys: list[str | None], names: list[str]) -> np.ndarray:
        """One :class:`ImageRef` per key (``None`` where the cell is empty), as an object array."""
        out = np.empty(len(keys), dtype=object)
        for i, (key, name) in enumerate(zip(keys, names, strict=True)):
            out[i] = None if key is None else ImageRef(key, name, self.read)
        return out


def image_column_of(columns: list[tuple[str, str]]) -> str | None:
    """The image column among ``(name, dtype)`` pairs, or ``None``."""
    found = [name for name, dtype in columns if dtype == "image"]
    return found[0] if found else None


# -- reading folders and tables of paths ---------------------------------------------------


@dataclass
class _Found:
    key: str
    file: str
    path: Path
    width: int
    height: int
    channels: int
    size: int


def _read_one(path: Path, shown: str, max_file_bytes: int) -> _Found:
    if not path.is_file():
        raise NotFoundError("no such image file", path=shown)
    size = path.stat().st_size
    if size == 0:
        raise DataFormatError("the image file is empty (0 bytes)", path=shown)
    if size > max_file_bytes:
        raise DataFormatError(
            f"the image file is {size:,} bytes",
            path=shown,
            expected=f"at most {max_file_bytes:,} bytes (LABSIGHT_MAX_FILE_BYTES)",
        )
    data = path.read_bytes()
    image = decode_image(data, shown)
    height, width, channels = image.shape
    return _Found(hashlib.sha256(data).hexdigest(), shown, path, width, height, channels, size)


def _entries(folder: Path, root: Path, shown: str) -> list[Path]:
    """The entries of ``folder`` that are not hidden, each checked to stay under ``root`` (a
    symbolic link that leads outside is refused, naming it) and to have a UTF-8 name."""
    inside = root.resolve()
    out = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            raise DataFormatError(
                f"a file name is not valid UTF-8: {entry.name.encode('utf-8', 'replace')!r}",
                path=shown,
                hint="Rename the file",
            ) from None
        try:
            target = entry.resolve(strict=True)
        except (OSError, RuntimeError):  # a broken link, a loop of links
            continue
        if not target.is_relative_to(inside):
            raise DataFormatError(
                f"{entry.relative_to(root).as_posix()!r} is a link that leads outside the folder",
                path=shown,
                expected="images inside the folder ingested",
                hint="Copy the images into the folder instead of linking them",
            )
        out.append(entry)
    return out


def _images_under(folder: Path, root: Path, shown: str) -> list[Path]:
    """The image files under ``folder`` (sub-folders included, hidden ones not), in order."""
    found: list[Path] = []
    pending = [folder]
    while pending:
        here = pending.pop()
        for entry in _entries(here, root, shown):
            if entry.is_dir():
                if not entry.is_symlink():  # a linked folder inside the root: read once, there
                    pending.append(entry)
            elif entry.is_file() and is_image_file(entry):
                found.append(entry)
    return sorted(found)


def _by_stem(paths: list[Path], folder: Path, shown: str) -> dict[str, Path]:
    """Images by name without extension; two of one name are refused (which mask is whose?)."""
    out: dict[str, Path] = {}
    for path in paths:
        if path.stem in out:
            raise DataFormatError(
                f"two images are named {path.stem!r}: "
                f"{out[path.stem].relative_to(folder).as_posix()!r} and "
                f"{path.relative_to(folder).as_posix()!r}",
                path=shown,
                expected="one image per name, so that each has its one mask",
                hint="Rename one of them",
            )
        out[path.stem] = path
    return out


def image_folder_frame(
    folder: str | os.PathLike[str], *, max_file_bytes: int, labelled: bool = True
) -> tuple[pl.DataFrame, ImageFiles, dict[str, str], str]:
    """The images under ``folder`` as a frame (``image``, ``label`` when there are class
    sub-folders, ``file``, ``width``, ``height``, ``channels``), their files, the columns' roles,
    and a hash of the whole listing (what the folder's lineage records). ``labelled=False``
    (new images to predict): every image under the folder, in any layout, without classes.

    Raises
    ------
    DataFormatError
        For a folder with no images, with class sub-folders of which only one holds images, with
        images both loose and in sub-folders, or with an unreadable image (named).
    """
    root = Path(folder)
    shown = os.fspath(folder)
    if not root.is_dir():
        raise NotFoundError("no such folder", path=shown)
    top = _entries(root, root, shown)
    names = {p.name.lower(): p for p in top if p.is_dir()}
    if labelled and set(names) == {"images", "masks"}:
        return _segmentation_frame(names["images"], names["masks"], shown, max_file_bytes)
    if not labelled:  # new images: all of them, whatever the sub-folders
        top = (
            _images_under(names["images"], root, shown)
            if set(names) == {"images", "masks"}
            else (_images_under(root, root, shown))
        )
    loose = sorted(p for p in top if p.is_file() and is_image_file(p))
    classes = sorted(p for p in top if p.is_dir())
    by_class = {d.name: _images_under(d, root, shown) for d in classes}
    by_class = {name: files for name, files in by_class.items() if files}
    if not loose and not by_class:
        raise DataFormatError(
            "is a directory, and holds no images",
            path=shown,
            expected="a file (point at one inside it), or a folder of image files ("
            + ", ".join(sorted(IMAGE_SUFFIXES))
            + "), loose or in one sub-folder per class",
        )
    if loose and by_class:
        raise DataFormatError(
            f"the folder holds {len(loose)} image{'s' if len(loose) != 1 else ''} of no class "
            "beside the class sub-folders " + ", ".join(repr(c) for c in by_class),
            path=shown,
            hint="Move each loose image into the sub-folder of its class",
        )
    if len(by_class) == 1:
        only = next(iter(by_class))
        raise DataFormatError(
            f"only one class: every image is in sub-folder {only!r}",
            path=shown,
            expected="one sub-folder per class, at least two classes",
            hint="Add the images of the other classes, or point at the folder of images itself",
        )
    limit = max_file_bytes
    found: list[tuple[str | None, _Found]] = []
    for label, files in [(None, loose)] if loose else list(by_class.items()):
        for path in files:
            rel = path.relative_to(root).as_posix()
            found.append((label, _read_one(path, f"{shown.rstrip('/')}/{rel}", limit)))
            found[-1][1].file = rel
    columns: dict[str, list[object]] = {"image": [f.key for _, f in found]}
    roles = {"file": "id", "width": "id", "height": "id", "channels": "id"}
    if by_class:
        columns["label"] = [label for label, _ in found]
        roles["label"] = "target"
    columns["file"] = [f.file for _, f in found]
    columns["width"] = [f.width for _, f in found]
    columns["height"] = [f.height for _, f in found]
    columns["channels"] = [f.channels for _, f in found]
    frame = pl.DataFrame(columns, schema_overrides={"image": pl.String})
    listing = hashlib.sha256(
        "\n".join(f"{f.file}\t{f.key}\t{label or ''}" for label, f in found).encode()
    ).hexdigest()
    return frame, ImageFiles({f.key: f.path for _, f in found}), roles, listing


def _segmentation_frame(
    images: Path, masks: Path, shown: str, max_file_bytes: int
) -> tuple[pl.DataFrame, ImageFiles, dict[str, str], str]:
    """``images/`` and ``masks/`` side by side: each image with the mask of the same stem (0 is
    background, any other value an object), as columns ``image`` and ``mask`` (role target)."""
    pictures = _by_stem(_images_under(images, images.parent, shown), images, f"{shown}/images")
    labels = _by_stem(_images_under(masks, masks.parent, shown), masks, f"{shown}/masks")
    if not pictures:
        raise DataFormatError("the folder images/ holds no images", path=f"{shown}/images")
    unmatched = sorted(set(pictures) ^ set(labels))
    if unmatched:
        side = "masks" if unmatched[0] in pictures else "images"
        raise DataFormatError(
            f"{len(unmatched)} files have no partner: {unmatched[0]!r} has no file of the same "
            f"name in {side}/",
            path=shown,
            expected="one mask per image, of the same name (any extension) in masks/",
        )
    found: list[tuple[_Found, _Found]] = []
    for stem in sorted(pictures):
        image = _read_one(pictures[stem], str(pictures[stem]), max_file_bytes)
        mask = _read_one(labels[stem], str(labels[stem]), max_file_bytes)
        if (mask.width, mask.height) != (image.width, image.height):
            raise DataFormatError(
                f"the mask is {mask.width} × {mask.height} pixels, the image "
                f"{image.width} × {image.height}",
                path=str(labels[stem]),
                expected="a mask of its image's size",
            )
        image.file = pictures[stem].relative_to(images.parent).as_posix()
        found.append((image, mask))
    frame = pl.DataFrame(
        {
            "image": [i.key for i, _ in found],
            "mask": [m.key for _, m in found],
            "file": [i.file for i, _ in found],
            "width": [i.width for i, _ in found],
            "height": [i.height for i, _ in found],
            "channels": [i.channels for i, _ in found],
        }
    )
    roles = {"mask": "target", "file": "id", "width": "id", "height": "id", "channels": "id"}
    files = {f.key: f.path for pair in found for f in pair}
    listing = hashlib.sha256(
        "\n".join(f"{i.file}\t{i.key}\t{m.key}" for i, m in found).encode()
    ).hexdigest()
    return frame, ImageFiles(files), roles, listing


def image_file_frame(
    path: str | os.PathLike[str], *, max_file_bytes: int
) -> tuple[pl.DataFrame, ImageFiles]:
    """One image file as a one-row frame (``image``, ``file``, ``width``, ``height``,
    ``channels``), to predict."""
    file = Path(path)
    found = _read_one(file, os.fspath(path), max_file_bytes)
    frame = pl.DataFrame(
        {
            "image": [found.key],
            "file": [file.name],
            "width": [found.width],
            "height": [found.height],
            "channels": [found.channels],
        }
    )
    return frame, ImageFiles({found.key: file})


def image_paths_frame(
    frame: pl.DataFrame,
    column: str,
    base: Path,
    *,
    table_name: str,
    lines: list[int] | None,
    max_file_bytes: int,
) -> tuple[pl.DataFrame, ImageFiles]:
    """``frame`` with an ``image`` column (the key of the file each cell of ``column`` names,
    relative to ``base``), and the files.

    Raises
    ------
    InputError
        When ``column`` is not in the table, or ``image`` already is.
    DataFormatError
        For a missing or unreadable image, or a path that leads outside ``base``, naming the
        table's line.
    """
    if column not in frame.columns:
        raise InputError(
            f"no column {column!r} for --images",
            expected="one of " + ", ".join(repr(c) for c in frame.columns[:30]),
        )
    if "image" in frame.columns:
        raise InputError(
            "the table already has a column 'image', which the images' keys would take",
            column="image",
            hint="Rename that column",
        )
    root = base.resolve()
    keys: list[str | None] = []
    files: dict[str, Path] = {}
    for row, cell in enumerate(frame[column].cast(pl.String).to_list()):
        at: dict[str, Any] = {
            "path": table_name,
            "line": lines[row] if lines else None,
            "column": column,
        }
        if cell is None or not cell.strip():
            keys.append(None)
            continue
        try:
            path = (root / cell.strip()).resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # a loop of links, a name too long
            raise DataFormatError(
                f"the image path {cell[:80]!r} cannot be followed ({type(exc).__name__})",
                **at,
                hint="Give the path of an image file under the table's folder",
            ) from None
        if not path.is_relative_to(root):
            raise DataFormatError(
                f"the image path {cell[:80]!r} leads outside the table's folder",
                **at,
                expected="a path under the folder that holds the table",
                hint="Put the images in (a sub-folder of) the table's folder",
            )
        if not is_image_file(path):
            raise DataFormatError(
                f"{cell[:80]!r} is not named as an image",
                **at,
                expected="a file ending in " + ", ".join(sorted(IMAGE_SUFFIXES)),
            )
        try:
            exists = path.is_file()
        except OSError:
            exists = False
        if not exists:
            raise NotFoundError(f"no image file {cell[:80]!r}", **at)
        found = _read_one(path, str(path), max_file_bytes)
        keys.append(found.key)
        files[found.key] = path
    if all(k is None for k in keys):
        raise DataFormatError(f"column {column!r} names no image", path=table_name)
    return frame.with_columns(pl.Series("image", keys, dtype=pl.String)), ImageFiles(files)
