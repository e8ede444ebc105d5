"""Work in a forked process, so that a site build uses more than one core.

MkDocs builds on one core. Some of our work needs only what is already loaded: the
similar-incident index and the checks (site.py), and the conversion of the generated
pages (parallel.py). A forked child computes it while the parent goes on, and sends
what it found back through a pipe (pickled):
- `Deferred(compute).result()`: one value. Where fork is not available, or the child
  failed (killed, out of memory, an exception), the parent computes the value itself.
  For a pure computation that gives the same value, and an exception is raised in the
  parent, where it is reported like any other.
- `fork_child(produce)` and `received(...)`: a stream of messages the parent reads as
  they come (the build workers send each page's search record this way); the caller
  decides what a child that stopped early means, and reaps it (`reap`).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from collections.abc import Callable, Iterator

FAILED = object()  # what a child that gave no result leaves


def usable_cores() -> int:
    """The cores this process may run on (a container's limit, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def fork_child(produce: Callable[[Callable[[object], None]], None]) -> tuple[int, int] | None:
    """Run `produce(send)` in a forked child; each `send(message)` is pickled into a pipe at once.

    Returns (pid, read end of the pipe), or None where fork is not available or fails.
    A child that raises just stops sending: the caller must not count on a last message.
    """
    if not hasattr(os, "fork"):
        return None
    read, write = os.pipe()
    # Objects that exist now are the parent's: frozen, the child's garbage collector never walks them.
    # Walking them would write to every object's header and so copy the parent's memory page by page
    # into the child (copy-on-write), which at 10,000 incidents is gigabytes and seconds.
    kept_frozen = gc.get_freeze_count() > 0  # a site build keeps its objects frozen (see freeze_for_the_build)
    gc.freeze()
    try:
        pid = os.fork()
    except OSError:
        if not kept_frozen:
            gc.unfreeze()
        os.close(read)
        os.close(write)
        return None
    if pid != 0:
        if not kept_frozen:
            gc.unfreeze()
        os.close(write)
        return pid, read
    # The child: produce, send, and leave without running any exit handlers of the parent.
    os.close(read)
    status = 0
    try:
        with os.fdopen(write, "wb") as out:
            def send(message: object) -> None:
                pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()  # the parent may act on each message while this child goes on

            produce(send)
    except BaseException:  # noqa: BLE001 - the parent sees the messages sent so far, and no more
        status = 1
    finally:
        os._exit(status)


def freeze_for_the_build() -> None:
    """Keep every object alive now out of the cyclic garbage collector's sight until `thaw`.

    A site build holds millions of objects (records, rendered pages) until it ends; each full
    collection walked all of them again: at 10,000 incidents, 4 to 5 collections of 0.5 to 1.1 s
    in the MkDocs process, the last one at exit (measured). Objects freed by their reference
    count are freed as before; only cycles among frozen objects wait for `thaw`.
    """
    gc.freeze()


def thaw() -> None:
    """Give the collector back what freeze_for_the_build took (a long-running `mkdocs serve`)."""
    gc.unfreeze()


def received(pid: int, read: int) -> Iterator[object]:
    """The messages of a child started by fork_child, as they arrive, until it closes the pipe.

    A child that died mid-way leaves a truncated message: the messages before it are kept.
    The caller reaps the child (`reap`) once done with it.
    """
    with os.fdopen(read, "rb") as source:
        while True:
            try:
                yield pickle.load(source)  # straight from the pipe: no second copy of the bytes
            except Exception:  # noqa: BLE001 - EOFError at the end, or a truncated message
                return


def reap(pid: int) -> None:
    """Wait for a child to exit (it has closed its pipe, or been killed) and free its process entry."""
    os.waitpid(pid, 0)


def stop_child(pid: int) -> None:
    """Kill a child that has not been reaped yet; whoever reads its pipe then sees the end and reaps it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Deferred:
    """A value computed by `compute()` in a forked child."""

    def __init__(self, compute: Callable[[], object], low_priority: bool = False):
        """`low_priority`: the child runs only on what the other processes leave of the cores (nice 19), for
        work whose value is needed late."""
        self._compute = compute
        self._done = False
        self._value = None

        def produce(send) -> None:
            if low_priority:
                os.nice(19)
            send(compute())

        started = fork_child(produce)
        self._pid, self._read = started if started else (None, None)

    def _receive(self):
        """The child's value, or FAILED; reaps the child."""
        if self._read is None:
            return FAILED
        read, self._read = self._read, None
        messages = received(self._pid, read)
        try:
            return next(messages, FAILED)
        finally:
            messages.close()  # closes the pipe
            reap(self._pid)

    def result(self):
        """The value; computed here when the child gave none. Kept for later calls."""
        if not self._done:
            value = self._receive()
            self._value = self._compute() if value is FAILED else value
            self._done = True
        return self._value
