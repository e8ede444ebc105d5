"""Work in a forked process, so a site build uses the machine's second core.

MkDocs builds on one core. The similar-incident index (its build and every incident's
neighbours) needs only the loaded knowledge base, so a forked child computes it
while the parent checks and renders the other pages; the parent picks the result
up when the first page that needs it is rendered. Where fork is not available, or
the child fails, the work runs in the parent: the output is the same either way.
"""

from __future__ import annotations

import os
import pickle
import struct
from collections.abc import Callable


class Deferred:
    """A value computed by `compute()` in a forked child; `.result()` waits for it."""

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
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: compute, send, and leave without running any exit handlers of the parent
            os.close(read)
            status = 0
            try:
                payload = pickle.dumps(self._compute(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as out:
                    out.write(struct.pack("!Q", len(payload)))
                    out.write(payload)
            except BaseException:  # noqa: BLE001 - the parent computes it again and reports any error
                status = 1
            finally:
                os._exit(status)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self):
        if self._done:
            return self._value
        value = None
        if self._read is not None:
            with os.fdopen(self._read, "rb") as source:
                header = source.read(8)
                if len(header) == 8:
                    (size,) = struct.unpack("!Q", header)
                    data = source.read(size)
                    if len(data) == size:
                        value = pickle.loads(data)
            os.waitpid(self._pid, 0)
            self._read = None
        if value is None:
            value = self._compute()  # no fork here, or the child failed: do it ourselves
        self._value, self._done = value, True
        return value
