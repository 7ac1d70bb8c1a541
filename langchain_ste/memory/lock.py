"""One writer per output directory: a file lock that turns a second process into a clear error.

The lock is an OS file lock (``flock`` on Linux/macOS), so it is released by the kernel when the
holder dies, SIGKILL included: a crashed run never leaves a stale lock behind. The holder's pid
is written next to it so that the error can say who holds the directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

LOCK_NAME = ".ste.lock"
OWNER_NAME = ".ste.lock.owner"


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
            owner = self._owner()
            who = f"another exploration process ({owner})" if owner else "another process"
            raise RunLockedError(
                f"{self.directory} is in use by {who}; wait for it to finish or choose "
                "another output directory"
            ) from exc
        try:
            (self.directory / OWNER_NAME).write_text(f"pid {os.getpid()}", encoding="utf-8")
        except OSError:
            pass  # only used for the error message

    def release(self) -> None:
        """Release the lock (if held)."""
        if self._lock.is_locked:
            self._lock.release()

    @property
    def locked(self) -> bool:
        """Whether this object holds the lock."""
        return bool(self._lock.is_locked)

    def _owner(self) -> str:
        try:
            return (self.directory / OWNER_NAME).read_text(encoding="utf-8").strip()[:100]
        except OSError:
            return ""

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
