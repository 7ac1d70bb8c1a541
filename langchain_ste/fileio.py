"""Replacing files atomically: write a temporary file beside the target, fsync it, rename it over.

A reader (or a crash) sees the old file or the new one, never half of the new one. Used for every
file the command line replaces (datasets, ``tools.json``, round records); the append-only
``trials.jsonl`` has its own guarantees (`langchain_ste.trial_log`).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_writer(path: str | os.PathLike[str], *, binary: bool = False) -> Iterator[IO[Any]]:
    """A file to write that replaces ``path`` only when the block ends without an error.

    The temporary file lives in the target's folder (so the rename stays on one file system)
    and is removed if the block raises; the folder is created when missing.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "out.txt"
        >>> with atomic_writer(target) as fh:
        ...     _ = fh.write("new")
        >>> target.read_text()
        'new'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A new file ("x": created here, with the umask's permissions, like the file it replaces)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with tmp.open("xb") if binary else tmp.open("x", encoding="utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            shutil.copymode(target, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "tools.json"
        >>> atomic_write_text(target, "[]"); target.read_text()
        '[]'
    """
    with atomic_writer(path) as fh:
        fh.write(text)


def atomic_write_jsonl(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> int:
    """Replace ``path`` with one JSON record per line, atomically; return how many.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "data.jsonl"
        >>> atomic_write_jsonl(target, [{"a": 1}, {"a": 2}]), target.read_text()
        (2, '{"a": 1}\\n{"a": 2}\\n')
    """
    n = 0
    with atomic_writer(path) as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
