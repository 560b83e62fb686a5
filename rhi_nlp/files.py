"""Writing files safely: a temporary part beside the target, renamed into place when complete.

- A part is named ``.NAME.PID.RANDOM.part``. A run that was killed leaves its part behind; the next
  run writing the same output removes parts whose process is gone (on Windows, parts older than an
  hour), so confidential half-written files do not pile up.
- SIGTERM and SIGHUP (a closed terminal) are turned into an ordinary exit, so the ``finally`` blocks
  that remove parts run (see :func:`exit_cleanly_on_signals`).
- Finished files get the permissions the user's umask gives (not the 0600 of a temporary file), so
  a shared install works; permission problems are reported as such.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

from .errors import InputError

PART_SUFFIX = ".part"
STALE_AFTER_S = 3600


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_parts(target: Path) -> int:
    """Remove parts of ``target`` left by runs that are no longer running; return how many."""
    removed = 0
    for part in target.parent.glob(f".{target.name}.*{PART_SUFFIX}"):
        bits = part.name[len(target.name) + 2:].split(".")
        try:
            pid = int(bits[0])
        except (ValueError, IndexError):
            continue
        if pid == os.getpid():
            continue
        if os.name == "nt":
            stale = time.time() - part.stat().st_mtime > STALE_AFTER_S
        else:
            stale = not _pid_alive(pid)
        if stale:
            part.unlink(missing_ok=True)
            removed += 1
    return removed


def new_part(target: Path) -> Path:
    """Create an empty part file for ``target`` (removing stale ones) and return its path."""
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise InputError(f"{target}: the folder {parent} does not exist")
    if not parent.is_dir():
        raise InputError(f"{target}: {parent} is not a folder")
    try:
        remove_stale_parts(target)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=PART_SUFFIX, dir=parent)
    except PermissionError:
        raise InputError(f"{target}: permission denied: cannot write in the folder {parent}; choose a "
                         f"folder you can write to") from None
    os.close(fd)
    return Path(tmp)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def publish(part: Path, target: Path) -> None:
    """Give the part the umask's permissions and rename it into place."""
    if os.name != "nt":
        os.chmod(part, 0o666 & ~_umask())
    try:
        os.replace(part, target)
    except PermissionError:
        part.unlink(missing_ok=True)
        raise InputError(f"{target}: permission denied: cannot replace the file (is it open in another "
                         f"program, or read-only?)") from None
    except IsADirectoryError:
        part.unlink(missing_ok=True)
        raise InputError(f"{target}: is a folder; name a file") from None


def write_bytes(target: str | Path, data: bytes) -> None:
    target = Path(target)
    part = new_part(target)
    try:
        part.write_bytes(data)
        publish(part, target)
    finally:
        part.unlink(missing_ok=True)


class _Terminated(SystemExit):
    pass


def _raise_exit(signum, frame):  # noqa: ARG001 (signal handler signature)
    raise _Terminated(128 + signum)


def exit_cleanly_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit so that cleanup code runs (main thread only)."""
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            try:
                signal.signal(sig, _raise_exit)
            except (ValueError, OSError):  # not the main thread, or not allowed here
                pass


def same_file(a: str | Path, b: str | Path) -> bool:
    a, b = Path(a), Path(b)
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


__all__ = ["new_part", "publish", "write_bytes", "remove_stale_parts",
           "exit_cleanly_on_signals", "same_file"]
