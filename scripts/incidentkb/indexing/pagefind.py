"""Pagefind as a service: a `pagefind --service` subprocess that indexes pages as they are handed to it.

It speaks the JSON-over-stdio protocol of Pagefind's official Python API; the official async client
is not used: its reader sleeps 100 ms per response, 10 pages a second (measured).
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path

from incidentkb.core.errors import ProblemsFound

try:  # the binary in its wheel (incidentkb[site]); the core install has none and needs none
    import pagefind_bin_extended
except ImportError:
    pagefind_bin_extended = None

INSTALL_HINT = "pip install 'incidentkb[site]' (it brings pagefind-bin-extended 1.5), or set PAGEFIND_BINARY_PATH"


class PagefindError(ProblemsFound):
    """Pagefind could not start or index the site: the search index is missing, so the build fails."""


class PagefindService:
    """A synchronous client for `pagefind --service`: base64 JSON messages, each followed by a comma.

    Requests are queued and written by a thread, so the caller never blocks on the pipe;
    responses are read by another thread and resolve a Future per request.
    """

    def __init__(self, executable: str | os.PathLike):
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen([str(executable), "--service"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr)
        self._next_id = 0
        self._futures: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name="pagefind-writer", daemon=True)
        self._reader = threading.Thread(target=self._read_loop, name="pagefind-reader", daemon=True)
        self._writer.start()
        self._reader.start()
        _LIVE.add(self)

    def request(self, payload: dict) -> Future:
        future: Future = Future()
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
            self._futures[message_id] = future
        self._outbox.put((message_id, payload))
        return future

    def cpu_seconds(self) -> float | None:
        """CPU time the service has used so far (Linux; None elsewhere)."""
        try:
            fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, AttributeError):
            return None

    def close(self) -> None:
        _LIVE.discard(self)
        self._outbox.put(None)
        self._writer.join(timeout=10)
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a wedged binary
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=10)
        for stream in (self._proc.stdin, self._proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()

    def stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read()[-2000:].decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def _write_loop(self) -> None:
        stdin = self._proc.stdin
        while True:
            item = self._outbox.get()
            if item is None:
                break
            message_id, payload = item
            data = base64.b64encode(json.dumps({"message_id": message_id, "payload": payload}).encode("utf-8"))
            try:
                stdin.write(data + b",")
                stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                self._fail_all("the Pagefind service stopped")
                break
        try:
            stdin.close()
        except OSError:
            pass

    def _read_loop(self) -> None:
        fd = self._proc.stdout.fileno()
        buffer = b""
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            buffer += chunk
            *messages, buffer = buffer.split(b",")
            for message in messages:
                if message.strip():
                    self._deliver(message)
        self._fail_all("the Pagefind service exited")

    def _deliver(self, message: bytes) -> None:
        try:
            response = json.loads(base64.b64decode(message))
        except (ValueError, TypeError):
            return  # not a protocol message (stray output); requests still get their answers
        message_id = response.get("message_id")
        payload = response.get("payload") or {}
        if message_id is None and payload.get("original_message"):
            try:
                message_id = json.loads(payload["original_message"]).get("message_id")
            except ValueError:
                pass
        with self._lock:
            future = self._futures.pop(message_id, None)
        if future is None:
            return
        if payload.get("type") == "Error":
            future.set_exception(PagefindError(payload.get("message", "unknown error")))
        else:
            future.set_result(payload)

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            pending, self._futures = self._futures, {}
        detail = self.stderr_tail()
        for future in pending.values():
            if not future.done():
                future.set_exception(PagefindError(reason + (f": {detail}" if detail else "")))


# Services not closed yet: a build that failed before finish() leaves one behind; the next
# configure() (mkdocs serve rebuilds in the same process) and the end of the process close it.
_LIVE: set[PagefindService] = set()


@atexit.register
def close_leftover_services() -> None:
    for service in list(_LIVE):
        service.close()


def find_executable() -> Path | None:
    """Where the Pagefind binary is, in the order of Pagefind's own Python client (which is not needed for it):
    PAGEFIND_BINARY_PATH, the pagefind-bin-extended wheel's binary, then `pagefind_extended` or `pagefind` on PATH."""
    setting = os.environ.get("PAGEFIND_BINARY_PATH")
    if setting:
        return Path(setting)
    if pagefind_bin_extended is not None:
        try:
            return Path(pagefind_bin_extended.get_executable())
        except FileNotFoundError:  # a broken install: the package without its binary
            pass
    found = shutil.which("pagefind_extended") or shutil.which("pagefind")
    return Path(found) if found else None


def pagefind_executable() -> Path:
    executable = find_executable()
    if executable is None or not executable.exists():
        raise PagefindError(f"search needs the Pagefind binary: {INSTALL_HINT}")
    return executable
