"""Running a program (the site builder) that stops when `kb` stops, and leaves nothing behind.

`subprocess.run` leaves a child running when its parent is terminated: `kb serve` stopped
with SIGTERM left `mkdocs serve` holding the port. `run_child` instead:

- starts the child in its own process group, so a signal meant for `kb` reaches the child
  once, through `kb` (a terminal's Ctrl-C would otherwise reach both at the same time);
- forwards SIGINT, SIGTERM and SIGHUP to it as SIGINT: MkDocs and ProperDocs stop their
  server on SIGINT and run their exit handlers (our Pagefind service among them), where
  SIGTERM's default action would end them at once and strand their own children;
- waits for it a few seconds, then kills the whole group (the child and anything it started);
- on Linux, asks the kernel to end the child if `kb` itself dies without a chance to
  forward anything (SIGKILL): PR_SET_PDEATHSIG.

It returns the child's exit code and the signal `kb` received (None if none), so the caller
can clean up (a staging folder) and exit the way a shell expects (128 + the signal).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 10  # for the child to stop its server and write nothing more, before the group is killed
_PR_SET_PDEATHSIG = 1


@dataclass
class Outcome:
    returncode: int
    signal: int | None  # what `kb` received while the child ran

    @property
    def exit_code(self) -> int:
        """How `kb` should end: the shell's 128 + signal when it was stopped, else the child's code."""
        return 128 + self.signal if self.signal is not None else self.returncode


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _stop_group(process: subprocess.Popen, how: int) -> None:
    try:
        os.killpg(process.pid, how)
    except (ProcessLookupError, PermissionError):
        pass


def run_child(command: list[str], **popen) -> Outcome:
    """Run `command` to its end (or until `kb` is told to stop); see the module's docstring."""
    main_thread = threading.current_thread() is threading.main_thread()
    linux = sys.platform.startswith("linux")
    process = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent if linux else None,
                               **popen)
    received: list[int] = []

    def forward(signum, frame) -> None:
        received.append(signum)
        _stop_group(process, signal.SIGINT)

    saved = {}
    if main_thread:  # signal handlers can only be set from the main thread (tests may call from another)
        for signum in FORWARDED:
            saved[signum] = signal.signal(signum, forward)
    try:
        while True:
            try:
                if received:
                    process.wait(timeout=GRACE_SECONDS)
                else:
                    process.wait()
                break
            except subprocess.TimeoutExpired:
                _stop_group(process, signal.SIGKILL)
    except BaseException:
        _stop_group(process, signal.SIGKILL)  # an exception here (not a signal): nothing may outlive kb
        process.wait()
        raise
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    _stop_group(process, signal.SIGKILL)  # whatever the child started and left behind in its group
    return Outcome(process.returncode, received[0] if received else None)
