"""One writer per output directory: a file lock that turns a second process into a clear error."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

LOCK_NAME = ".ste.lock"


class RunLockedError(RuntimeError):
    """Another process is writing to the same output directory."""


class RunLock:
    """Exclusive lock on an exploration output directory.

    Example:
        >>> import tempfile
        >>> out = tempfile.mkdtemp()
        >>> with RunLock(out):
        ...     try:
        ...         RunLock(out).acquire()
        ...     except RunLockedError as exc:
        ...         print("locked")
        locked
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(self.directory / LOCK_NAME, is_singleton=False)

    def acquire(self) -> None:
        """Take the lock or raise `RunLockedError` at once."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout as exc:
            raise RunLockedError(
                f"{self.directory} is in use by another exploration process; wait for it to "
                "finish or choose another output directory"
            ) from exc

    def release(self) -> None:
        """Release the lock."""
        self._lock.release()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
