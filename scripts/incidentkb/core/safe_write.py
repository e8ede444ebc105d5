"""Writing files without ever losing what is already there.

A new file is written to a temporary file in the same folder and then linked
into place: the link fails if the target exists (so nothing is overwritten),
and a crash or Ctrl-C leaves either no file or the complete file, never half
of one. A deliberate replacement (`kb import --update`) is renamed into place
the same way: the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from incidentkb.core.staging import umask_mode


def _temporary_copy(path: Path, text: str) -> str:
    """`text` in a fsynced temporary file next to `path`; returns its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file 0600; the file it becomes gets what any new file would (the umask's), or the
        # mode of the file it replaces: a web server or a colleague reads exports and records.
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            mode = umask_mode(directory=False)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def write_new_file(path: Path, text: str) -> None:
    """Create `path` with `text`. Raises FileExistsError if it exists; never leaves a partial file."""
    path = Path(path)
    tmp = _temporary_copy(path, text)
    try:
        try:
            os.link(tmp, path)  # atomic, and fails when path exists
        except (AttributeError, NotImplementedError, PermissionError):
            # Filesystems without hard links: exclusive create, then an atomic rename over it.
            with open(path, "x", encoding="utf-8"):
                pass
            os.replace(tmp, path)
            tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def replace_file(path: Path, text: str) -> None:
    """Replace `path` whole with `text`, atomically."""
    path = Path(path)
    tmp = _temporary_copy(path, text)
    try:
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
