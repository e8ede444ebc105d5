"""Progress of long work (10,000 records) on standard error, for a person watching a terminal only.

    progress = terminal_progress()          # None in a pipe, a log file or CI
    for number, item in enumerate(items, 1):
        ...
        if progress:
            progress("checking", number, len(items))

A `Progress` is any callable (what is being done, how many are done, of how many); library
functions take one as an optional argument and know nothing of terminals. This one rewrites
one line in place (carriage return), at most ten times a second, and clears it when the work
is done, so the command's own output starts on a clean line. It stays silent when standard
error is not a terminal (a pipe, a file, most CI logs, where carriage returns would pile up),
when CI is set (CI systems that give jobs a pseudo-terminal), with TERM=dumb, and for
small jobs (under MIN_TOTAL items), which end before a line would be worth reading.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[str, int, int], None]  # (what is being done, done, total)

MIN_TOTAL = 200
INTERVAL = 0.1  # seconds between two updates of the line


def wanted(stream: TextIO) -> bool:
    """Whether progress on `stream` would be read by a person rather than stored in a log."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


class TerminalProgress:
    def __init__(self, stream: TextIO):
        self.stream = stream
        self._last = 0.0
        self._shown = False

    def __call__(self, what: str, done: int, total: int) -> None:
        if total < MIN_TOTAL:
            return
        now = time.monotonic()
        if done >= total:
            if self._shown:
                self.stream.write("\r\033[K")  # cleared: what is printed next starts on a clean line
                self.stream.flush()
                self._shown = False
            return
        if now - self._last < INTERVAL:
            return
        self._last = now
        self._shown = True
        self.stream.write(f"\r\033[K{what} {done:,}/{total:,} ({100 * done // total}%)")
        self.stream.flush()


def terminal_progress(stream: TextIO | None = None) -> Progress | None:
    """A Progress writing to standard error (or `stream`) when a person is watching it, else None."""
    stream = stream if stream is not None else sys.stderr
    return TerminalProgress(stream) if wanted(stream) else None
