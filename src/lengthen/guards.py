"""Read inputs defensively and check outputs before any work: the shared guards every command uses.

Inputs: only regular files are opened (a FIFO, a device or a socket is refused without blocking);
JSON documents (timelines, spec files, bank files) are size- and depth-checked before a parser sees
them, and non-finite numbers (NaN, Infinity) are refused; images are size-checked from their header
before decoding (decompression bombs); every id, name and relative path read from a file is checked
against the folder it must stay in.

Outputs: :func:`check_output_dir` / :func:`check_output_file` say before any work whether a place
is writable, :func:`check_disk` and :func:`check_memory` whether the machine can hold the request.

Every failure is a :class:`~lengthen.errors.LengthenError` naming the offending file.
"""

from __future__ import annotations

import json
import os
import re
import stat
import unicodedata
from pathlib import Path

from .errors import LengthenError, MediaError, ResourceError, UsageError, from_os_error

MAX_JSON_BYTES = 64 * 1024 * 1024  # a timeline of some hundred thousand clips
MAX_JSON_DEPTH = 200  # an OTIO document nests about 8 levels per nested stack
MAX_IMAGE_PIXELS = 80_000_000  # 8K x 10K; a still bigger than that is not a face photo
MIN_IMAGE_SIDE = 16
MAX_NAME_CHARS = 200

_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _stat(path: Path, what: str, error: type[LengthenError]) -> os.stat_result:
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise error(f"{what} not found", path=path) from None
    except OSError as exc:
        raise error(from_os_error(exc).message, path=path) from None
    except ValueError:  # embedded NUL
        raise error(f"not a valid {what} name", path=repr(str(path))) from None


def check_regular_file(path, what: str = "file", error: type[LengthenError] = UsageError) -> Path:
    """``path`` must be an existing regular file with something in it (checked with stat, which never
    blocks, so a FIFO or a device is refused instead of read)."""
    path = Path(path)
    st = _stat(path, what, error)
    if stat.S_ISDIR(st.st_mode):
        raise error(f"is a directory, not a {what}", path=path)
    for test, kind in _KINDS:
        if test(st.st_mode):
            raise error(f"is {kind}, not a regular file; lengthen reads regular files only", path=path)
    if not stat.S_ISREG(st.st_mode):
        raise error("is not a regular file", path=path)
    if st.st_size == 0:
        raise error(f"{what} is empty (0 bytes)", path=path)
    return path


# ---- JSON -------------------------------------------------------------------------------------

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays/objects in a JSON text, without parsing it (linear, no recursion)."""
    import numpy as np

    stripped = _STRING.sub(b'""', data)
    arr = np.frombuffer(stripped, dtype=np.uint8)
    if arr.size == 0:
        return 0
    delta = (arr == ord("[")).astype(np.int32) + (arr == ord("{"))
    delta -= (arr == ord("]")).astype(np.int32) + (arr == ord("}"))
    return int(np.cumsum(delta).max(initial=0))


def check_json_bytes(
    data: bytes, path, what: str, error: type[LengthenError], max_depth: int = MAX_JSON_DEPTH
) -> None:
    depth = json_depth(data)
    if depth > max_depth:
        raise error(f"{what} nests {depth} levels deep (at most {max_depth} accepted); refusing to read it", path=path)


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name} is not allowed")


def parse_json_bytes(data: bytes, path, what: str, error: type[LengthenError], max_depth: int = MAX_JSON_DEPTH):
    """Depth-check, then parse strictly (NaN and Infinity refused)."""
    check_json_bytes(data, path, what, error, max_depth)
    try:
        text = data.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})", path=path) from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise error(f"malformed {what.removesuffix(' file')} JSON ({exc.msg} at {where})", path=path) from None
    except (ValueError, RecursionError) as exc:
        raise error(f"{what} is not acceptable JSON ({exc})", path=path) from None


def read_json(
    path,
    what: str = "JSON file",
    error: type[LengthenError] = UsageError,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
):
    """A JSON document from a regular file, size- and depth-checked before parsing."""
    path = check_regular_file(path, what, error)
    data = read_bytes_limited(path, max_bytes, what, error)
    return parse_json_bytes(data, path, what, error, max_depth)


def read_bytes_limited(path, max_bytes: int, what: str, error: type[LengthenError] = UsageError) -> bytes:
    path = Path(path)
    size = _stat(path, what, error).st_size
    if size > max_bytes:
        raise error(f"{what} is {size / 2**20:.0f} MiB; at most {max_bytes / 2**20:.0f} MiB accepted", path=path)
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise error(from_os_error(exc).message, path=path) from None
    if len(data) > max_bytes:
        raise error(f"{what} is larger than {max_bytes / 2**20:.0f} MiB", path=path)
    return data


def check_otio_document(path, error: type[LengthenError]) -> None:
    """Before the OTIO reader sees a timeline: the JSON inside ``.otio``, ``.otiod`` or ``.otioz``
    must be a regular file (or a real zip), of sane size and nesting."""
    import zipfile

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".otiod":
        if not path.is_dir():
            raise error("an .otiod bundle is a folder", path=path)
        content = path / "content.otio"
        data = read_bytes_limited(check_regular_file(content, "timeline", error), MAX_JSON_BYTES, "timeline", error)
    elif suffix == ".otioz":
        check_regular_file(path, "timeline bundle", error)
        try:
            with zipfile.ZipFile(path) as z:
                try:
                    info = z.getinfo("content.otio")
                except KeyError:
                    raise error("not an .otioz bundle: it has no content.otio", path=path) from None
                total = sum(i.file_size for i in z.infolist())
                if info.file_size > MAX_JSON_BYTES:
                    raise error(f"content.otio unpacks to {info.file_size / 2**20:.0f} MiB; too large", path=path)
                free = _free_bytes(Path(os.path.abspath(path)).parent)
                if free is not None and total > free:
                    raise ResourceError(
                        f"the bundle unpacks to {_size(total)} but only {_size(free)} is free", path=path
                    )
                data = z.read(info)
        except zipfile.BadZipFile as exc:
            raise error(f"not an .otioz bundle (not a zip file: {exc})", path=path) from None
        except (OSError, EOFError, RuntimeError, NotImplementedError) as exc:
            raise error(f"damaged .otioz bundle ({exc})", path=path) from None
    elif suffix == ".otio":
        check_regular_file(path, "timeline", error)
        data = read_bytes_limited(path, MAX_JSON_BYTES, "timeline", error)
    else:  # adapter formats (EDL, XML): only the regular-file and size rules
        check_regular_file(path, "timeline", error)
        read_bytes_limited(path, MAX_JSON_BYTES, "timeline", error)
        return
    doc = parse_json_bytes(data, path, "timeline", error)
    if not isinstance(doc, dict) or "OTIO_SCHEMA" not in doc:
        kind = type(doc).__name__ if not isinstance(doc, dict) else "an object without OTIO_SCHEMA"
        raise error(f"not an OTIO document (the JSON holds {kind})", path=path)
    _check_numbers(doc, path, error)


def _check_numbers(doc, path, error) -> None:
    """Refuse what OTIO reads but then overflows or crashes on: absurd time values (1e308 frames),
    schema names that are not text, a timeline without a stack of tracks."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            schema = item.get("OTIO_SCHEMA")
            if schema is not None and not isinstance(schema, str):
                raise error(f"not an OTIO document: a schema name is {schema!r}", path=path)
            if schema is not None and schema.startswith("Timeline.") and not isinstance(item.get("tracks"), dict):
                # OTIO 0.18 reads {"tracks": null} and then crashes (SIGSEGV) walking its clips
                raise error(f"a timeline whose tracks are {item.get('tracks')!r}, not a stack of tracks", path=path)
            if schema is not None and schema.startswith("RationalTime"):
                for key in ("value", "rate"):
                    v = item.get(key)
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or not abs(v) < 1e15:
                        raise error(f"impossible time value {key}={v!r} in a RationalTime", path=path)
                if not item.get("rate", 0) > 0:
                    raise error(f"impossible frame rate {item.get('rate')!r} in a RationalTime", path=path)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


# ---- images -----------------------------------------------------------------------------------


def read_image_rgb(path, error: type[LengthenError] = MediaError, what: str = "image"):
    """(H, W, 3) uint8 from an image file, its size checked from the header before decoding."""
    import warnings

    import numpy as np
    from PIL import Image, UnidentifiedImageError

    path = check_regular_file(path, what, error)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    raise error(
                        f"{what} is {w}x{h} ({w * h / 1e6:.0f} megapixels); at most "
                        f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels accepted",
                        path=path,
                    )
                if min(w, h) < MIN_IMAGE_SIDE:
                    why = f"too small to hold a face (at least {MIN_IMAGE_SIDE} px)"
                    raise error(f"{what} is {w}x{h}; {why}", path=path)
                return np.asarray(im.convert("RGB"))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise error(f"{what} is too large to decode safely ({exc})", path=path) from None
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError) as exc:
            raise error(f"cannot read {what}: {exc}", path=path) from None


# ---- ids, names and relative paths read from files --------------------------------------------

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_id(value, what: str, path=None, error: type[LengthenError] = UsageError) -> str:
    """An id that also names a folder: 1-64 ASCII letters, digits, ``_ . -``, not starting with a dot,
    so it can never be ``..``, absolute or contain a separator."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise error(
            f"{what} {value!r} is not a valid id (1-64 letters, digits, '_', '.', '-'; no path separators)", path=path
        )
    return value


def check_name(value, what: str, path=None, error: type[LengthenError] = UsageError) -> str:
    """A display name: text of 1-200 characters without control characters."""
    if not isinstance(value, str) or not value.strip():
        raise error(f"{what} must be non-empty text, got {value!r}", path=path)
    if len(value) > MAX_NAME_CHARS:
        raise error(f"{what} is {len(value)} characters long (at most {MAX_NAME_CHARS})", path=path)
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise error(f"{what} {value!r} contains control characters", path=path)
    return value


def contained(base, relative, what: str, path=None, error: type[LengthenError] = UsageError) -> Path:
    """``base / relative``, refused unless it stays inside ``base`` (no absolute path, no ``..`` climb-out)."""
    if not isinstance(relative, str) or not relative or "\0" in relative:
        raise error(f"{what} {relative!r} is not a relative path", path=path)
    rel = Path(relative)
    base_abs = Path(os.path.abspath(base))
    joined = Path(os.path.normpath(base_abs / rel))
    if rel.is_absolute() or (joined != base_abs and base_abs not in joined.parents):
        raise error(f"{what} {relative!r} leads outside its folder {base_abs}", path=path)
    return joined


# ---- outputs: checked before any work ---------------------------------------------------------


def _nearest_existing(path: Path) -> Path:
    p = Path(os.path.abspath(path))
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def _probe_writable(folder: Path, path: Path) -> None:
    import tempfile

    try:
        fd, name = tempfile.mkstemp(prefix=".lengthen-write-check-", dir=folder)
    except OSError as exc:
        raise UsageError(f"cannot write there: {from_os_error(exc).message}", path=path) from None
    os.close(fd)
    os.unlink(name)


def check_output_dir(path, what: str = "output folder") -> Path:
    """``path`` is, or can be created as, a writable folder. Nothing is created."""
    path = Path(path)
    try:
        if os.path.lexists(path) and not path.is_dir():
            raise UsageError(f"the {what} is a file, not a folder; choose another place", path=path)
        anc = _nearest_existing(path)
        if not anc.is_dir():
            raise UsageError(f"cannot create the {what}: {anc} is a file, not a folder", path=path)
        _probe_writable(anc, path)
    except OSError as exc:
        raise UsageError(f"cannot use the {what}: {from_os_error(exc).message}", path=path) from None
    return path


def check_output_file(path, what: str = "output", protect=(), overwrite: bool = False) -> Path:
    """``path`` can be written as a new file: its folder is usable, it is not an input, not a folder,
    and (unless ``overwrite``) not already there."""
    path = Path(path)
    for item in protect or ():
        try:
            if os.path.abspath(item) == os.path.abspath(path) or (path.exists() and os.path.samefile(item, path)):
                raise UsageError(f"the {what} would overwrite an input file; choose another name", path=path)
        except OSError:
            continue
    if path.is_dir():
        raise UsageError(f"the {what} is a folder; give a file name", path=path)
    if os.path.lexists(path) and not overwrite:
        raise UsageError(f"the {what} exists; refusing to overwrite (choose another name)", path=path)
    if len(path.name.encode("utf-8", "surrogateescape")) > 255:
        raise UsageError(f"the {what} file name is too long", path=path)
    check_output_dir(path.parent, "output folder")
    return path


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _free_bytes(folder: Path) -> int | None:
    import shutil

    try:
        return shutil.disk_usage(_nearest_existing(folder)).free
    except OSError:
        return None


def check_disk(folder, need_bytes: int, what: str) -> None:
    """Enough free disk under ``folder`` for ``need_bytes`` (an estimate, with 5 % to spare)."""
    free = _free_bytes(Path(folder))
    if free is not None and need_bytes * 1.05 > free:
        raise ResourceError(f"{what} needs about {_size(need_bytes)} of disk; only {_size(free)} is free", path=folder)


def memory_limit() -> int:
    """Bytes one request may hold: ``$LENGTHEN_MEMORY_LIMIT`` (e.g. ``8G``, ``500M``) or 80 % of the
    memory available now."""
    value = os.environ.get("LENGTHEN_MEMORY_LIMIT", "").strip()
    if value:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?", value, re.IGNORECASE)
        if not m:
            raise UsageError(f"LENGTHEN_MEMORY_LIMIT={value!r} is not a size like 8G or 500M")
        scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[m.group(2).upper()]
        return int(float(m.group(1)) * scale)
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return 1 << 62
    return int(available * 0.8)


def check_memory(need_bytes: int, what: str, clip: str | None = None) -> None:
    limit = memory_limit()
    if need_bytes > limit:
        raise ResourceError(
            f"{what} needs about {_size(need_bytes)} of memory; {_size(limit)} is available "
            "(ask for fewer frames, or set LENGTHEN_MEMORY_LIMIT)",
            clip=clip,
        )
