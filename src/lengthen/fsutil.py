"""Write files so that readers only ever see complete ones: temp name in the same folder, then rename.

A run (one CLI command) opens an :func:`output_transaction`; every folder made with :func:`makedirs`
and every file completed by :func:`atomic_path` (and the media writer, the bank saver) is recorded with
:func:`record_created`. If the run fails or is stopped, :func:`output_transaction` removes exactly
what it recorded, newest first, so a failed run leaves nothing behind and never touches a file it
did not create. Outside a transaction (the panel, library use) nothing is recorded.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import stat
import uuid
from pathlib import Path

_LEDGER: contextvars.ContextVar[list | None] = contextvars.ContextVar("lengthen_created", default=None)


def record_created(path: str | Path) -> None:
    """Note that this run created ``path`` (a file or folder that did not exist before)."""
    ledger = _LEDGER.get()
    if ledger is not None:
        ledger.append(Path(os.path.abspath(path)))


def keep(*paths: str | Path) -> None:
    """Commit ``paths`` in the current output transaction: neither they nor the folders above them
    are removed if the run fails or is stopped later (a resumable run's finished shots, recorded in
    its run manifest, survive Ctrl-C so that the next run goes on from them)."""
    ledger = _LEDGER.get()
    if not ledger:
        return
    kept = [Path(os.path.abspath(p)) for p in paths]
    ledger[:] = [p for p in ledger if not any(p == k or p in k.parents for k in kept)]


def makedirs(path: str | Path) -> Path:
    """``mkdir -p`` that records every folder it creates in the current output transaction."""
    path = Path(path)
    missing = []
    p = Path(os.path.abspath(path))
    while not os.path.lexists(p) and p != p.parent:
        missing.append(p)
        p = p.parent
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            if not folder.is_dir():
                raise
            continue
        record_created(folder)
    if not missing and not path.is_dir():
        path.mkdir()  # raises FileExistsError / NotADirectoryError naming the path
    return path


@contextlib.contextmanager
def output_transaction():
    """Record what the body creates; on any exception (or a stop signal) remove it all again."""
    ledger: list[Path] = []
    token = _LEDGER.set(ledger)
    try:
        yield ledger
    except BaseException:
        rollback(ledger)
        raise
    finally:
        _LEDGER.reset(token)


def rollback(ledger: list[Path]) -> None:
    for path in reversed(ledger):
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):
                path.unlink()
        except OSError:
            continue
    ledger.clear()


def partial_name(path: str | Path, tag: str = "partial") -> Path:
    """A hidden temporary name beside ``path`` (a file or a folder) for writing it
    (``.{stem}.xxxxxxxx.partial{suffix}``, the stem cut to 80 characters so the name stays within
    the file system's 255); ``tag="old"`` for a folder set aside while its new one moves in."""
    path = Path(path)
    return path.with_name(f".{path.stem[:80]}.{uuid.uuid4().hex[:8]}.{tag}{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | Path, record: bool = True):
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``, on error removed.
    ``record=False`` for caches, which a failed run keeps (see :func:`output_transaction`)."""
    path = Path(path)
    makedirs(path.parent)
    tmp = partial_name(path)
    existed = os.path.lexists(path)
    try:
        yield tmp
        os.replace(tmp, path)
        if not existed and record:
            record_created(path)
    finally:
        if tmp.exists():
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | Path, record: bool = True):
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` (an existing
    folder is kept aside until the new one is in, and put back if that fails); on error the
    temporary folder is removed. The folder twin of :func:`atomic_path`. ``record=False`` for
    caches, which a failed run keeps."""
    path = Path(path)
    makedirs(path.parent)
    tmp = partial_name(path)
    tmp.mkdir()
    existed = path.exists()
    try:
        yield tmp
        old = None
        if existed:
            old = partial_name(path, "old")
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            if old is not None:
                os.replace(old, path)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        if not existed and record:
            record_created(path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def atomic_write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def file_stamp(path: str | Path) -> tuple[str, int, int] | None:
    """``(resolved path, size, mtime_ns)`` of a regular file, the key of a per-process cache of
    something read from it (a rewritten file gets a new key); None when ``path`` is not a regular
    file (missing, a folder, a FIFO...), which callers do not cache."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return str(Path(path).resolve()), st.st_size, st.st_mtime_ns
