"""Work in a forked process, so that a site build uses more than one core.

MkDocs builds on one core. Some of our work needs only what is already loaded: the
similar-incident index and the checks (site.py), and the conversion of the generated
pages (parallel.py). A forked child computes it while the parent goes on, and sends
the result back through a pipe (pickled).

Two ways to end, chosen by the caller:
- `result()`: where fork is not available, or the child failed (killed, out of memory,
  an exception), the parent computes the value itself. For a pure computation that
  gives the same value, and an exception is raised in the parent, where it is reported
  like any other.
- `take()`: returns FAILED instead, and keeps nothing; the caller decides what to do.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from collections.abc import Callable

FAILED = object()  # what take() returns when the child gave no result


class Deferred:
    """A value computed by `compute()` in a forked child."""

    def __init__(self, compute: Callable[[], object]):
        self._compute = compute
        self._done = False
        self._value = None
        self._pid = None
        self._read = None
        if hasattr(os, "fork"):
            self._start()

    def _start(self) -> None:
        read, write = os.pipe()
        # Objects that exist now are the parent's: frozen, the child's garbage collector never walks them.
        # Walking them would write to every object's header and so copy the parent's memory page by page
        # into the child (copy-on-write), which at 10,000 incidents is gigabytes and seconds.
        gc.freeze()
        try:
            pid = os.fork()
        except OSError:
            gc.unfreeze()
            os.close(read)
            os.close(write)
            return
        if pid != 0:
            gc.unfreeze()
        if pid == 0:  # the child: compute, send, and leave without running any exit handlers of the parent
            os.close(read)
            status = 0
            try:
                value = self._compute()
                with os.fdopen(write, "wb") as out:
                    pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:  # noqa: BLE001 - the parent sees no result and falls back (see the docstring)
                status = 1
            finally:
                os._exit(status)
        os.close(write)
        self._pid, self._read = pid, read

    def _receive(self):
        """The child's value, or FAILED; reaps the child."""
        if self._read is None:
            return FAILED
        value = FAILED
        try:
            with os.fdopen(self._read, "rb") as source:
                value = pickle.load(source)  # straight from the pipe: no second copy of the bytes
        except Exception:  # noqa: BLE001 - a child that died mid-way leaves a truncated pickle: no result
            value = FAILED
        finally:
            self._read = None
            os.waitpid(self._pid, 0)
        return value

    def result(self):
        """The value; computed here when the child gave none. Kept for later calls."""
        if not self._done:
            value = self._receive()
            self._value = self._compute() if value is FAILED else value
            self._done = True
        return self._value

    def take(self):
        """The child's value, or FAILED. Nothing is kept: a second call returns FAILED."""
        value = self._receive()
        self._compute = None  # what the closure holds can go too
        return value

    def cancel(self) -> None:
        """Stop the child if it is still running (a build that failed does not need its result)."""
        if self._read is None:
            return
        try:
            os.kill(self._pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(self._read)
        self._read = None
        os.waitpid(self._pid, 0)
