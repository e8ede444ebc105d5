"""Folders a command builds in before it puts them in place, and the permissions of what it writes.

- `staging_folder(beside, kind)`: a new folder next to the final one (same filesystem, so the
  result can be renamed into place), named `.{name}-{kind}-{pid}-{random}`. It is removed on
  every exit path this process sees: a normal end, an exception, Ctrl-C and SIGTERM (cli/ turns
  SIGTERM into an exception, so `finally` blocks run). A process killed outright (SIGKILL, a
  power cut) cannot clean up; the next run removes the folders whose process is gone. The
  names are in .gitignore (the repository's and the one `kb init` writes).
- `umask_mode(kind)`: tempfile.mkdtemp and mkstemp create 0700 folders and 0600 files on
  purpose (a temporary file is private); a site or an export that ends up where a web server
  or a colleague reads it must have the permissions the user's umask gives any other file.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

GITIGNORE_PATTERNS = (".*-building-*/", ".*-generating-*/", ".*-old-*/")  # staging, and a swapped-out old version


def current_umask() -> int:
    """The process's umask, read without changing it where Linux says it (/proc); else set and restored."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def umask_mode(directory: bool) -> int:
    """The mode a folder (0777) or a file (0666) gets from open() or mkdir() under the current umask."""
    return (0o777 if directory else 0o666) & ~current_umask()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_leftovers(parent: Path, name: str, kind: str) -> list[Path]:
    """Remove `.{name}-{kind}-{pid}-*` folders in `parent` whose process has ended (a killed earlier run)."""
    pattern = re.compile(re.escape(f".{name}-{kind}-") + r"(\d+)-")
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() and not _alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextmanager
def staging_folder(final: Path, kind: str):
    """A new, empty folder beside `final` with the umask's permissions; removed when the block ends,
    unless the block moved it away (renamed into place)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(final.parent, final.name, kind)
    path = Path(tempfile.mkdtemp(prefix=f".{final.name}-{kind}-{os.getpid()}-", dir=final.parent))
    try:
        os.chmod(path, umask_mode(directory=True))
        yield path
    finally:
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
