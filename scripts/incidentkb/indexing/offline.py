"""The site as one file for offline use: a deterministic zip, and a small web server that serves it.

    make_archive(Path("site"), Path("site.zip"))      # done by every `mkdocs build` (see search.py)
    serve_archive(Path("site.zip"))                   # `kb serve --offline site.zip`, or:
    python -m zipfile -e site.zip . && python -m http.server -d site

Deterministic: entries in a fixed order (sorted paths, the search bundle last so it can
be appended after Pagefind finishes writing), a fixed timestamp and fixed permissions, so
two builds of the same input give the same bytes. Entries live under one top-level folder
named after the archive (site.zip → site/), so unzipping never spills files around.

Why a server at all: every page opens from file://, but browsers refuse fetch() and module
imports there, and search loads its index in chunks with exactly those. The server reads
straight from the zip, with no extraction, and binds to localhost only by default.
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
import threading
import zipfile
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from incidentkb.core.background import fork_child, reap, received, stop_child, usable_cores

FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # zip timestamps are local-time fields; any fixed value works
BUNDLE_DIR = "pagefind"
# Already compressed: deflating them again costs time and saves nothing.
STORED_SUFFIXES = (".gz", ".zip", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2", ".pagefind",
                   ".pf_fragment", ".pf_index", ".pf_meta", ".pf_filter")
MIME_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".json": "application/json",
              ".wasm": "application/wasm", ".svg": "image/svg+xml", ".html": "text/html", ".xml": "application/xml",
              ".pagefind": "application/octet-stream", ".pf_fragment": "application/octet-stream",
              ".pf_index": "application/octet-stream", ".pf_meta": "application/octet-stream",
              ".pf_filter": "application/octet-stream"}


def archive_order(relative: str) -> tuple[bool, str]:
    """Sort key of an entry: by path, with the search bundle after everything else."""
    return (relative == BUNDLE_DIR or relative.startswith(BUNDLE_DIR + "/"), relative)


class ArchiveWriter:
    """Writes a site into a zip in archive_order, possibly in two steps (site, then search bundle).

    The files are read and compressed on every core (zlib and file reads release the GIL) and
    written in order by the calling thread: at 10,000 incidents, zipping 440 MB of site on one
    core took 7 to 9 s at the very end of the build, when the other core has nothing left to do.
    The bytes are those zipfile.ZipFile.writestr would write at the same level (a test compares
    them). Level 1: at 10,000 incidents 8 % larger than zlib's default level 6, and half the time.
    """

    def __init__(self, out: Path, root: str | None = None, compresslevel: int = 1):
        self.out = Path(out)
        self.root = (root if root is not None else self.out.stem).strip("/")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._partial = self.out.with_name(self.out.name + ".part")
        self._level = compresslevel
        self._zip = zipfile.ZipFile(self._partial, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        self._side = self.out.with_name(self.out.name + ".prepared")  # entries compressed ahead (prepare)
        self._preparing: tuple[int, int] | None = None  # the child compressing them: (pid, pipe)
        self._prepared: dict[str, tuple[int, int, int, int]] = {}  # relative path: (offset, size, CRC, length)
        self._side_file = None

    def prepare(self, site_dir: Path, relatives: list[str]) -> None:
        """Compress files that will not change any more (the pages the build workers wrote) while the build
        finishes the rest; add_site puts them in their place.

        In a forked child, not in threads: threads slowed the MkDocs process's own loop over the pages
        threefold (they take turns with it for the GIL; measured at 10,000 incidents). The child writes the
        compressed entries to a side file and sends where each one is."""
        if self._preparing is not None:
            return
        site_dir, side, pack = Path(site_dir), self._side, self._pack

        def produce(send) -> None:
            places = {}
            with open(side, "wb") as out:
                for relative in relatives:
                    try:
                        data = (site_dir / relative).read_bytes()
                    except FileNotFoundError:  # a page with empty output is not written
                        continue
                    size, crc, payload = pack(relative, data)
                    places[relative] = (out.tell(), size, crc, len(payload))
                    out.write(payload)
            send(places)

        self._preparing = fork_child(produce)

    def _take_prepared(self) -> None:
        """Wait for the child of prepare, if any, and open what it wrote (nothing, if it failed)."""
        if self._preparing is None:
            return
        (pid, read), self._preparing = self._preparing, None
        messages = received(pid, read)
        try:
            self._prepared = next(messages, None) or {}
        finally:
            messages.close()
            reap(pid)
        if self._prepared:
            self._side_file = open(self._side, "rb")

    def _read_prepared(self, relative: str) -> tuple[int, int, bytes]:
        offset, size, crc, length = self._prepared.pop(relative)
        self._side_file.seek(offset)
        return size, crc, self._side_file.read(length)

    def add_site(self, site_dir: Path, *, skip_bundle: bool = False, only_bundle: bool = False) -> None:
        site_dir = Path(site_dir)
        own = {self.out.resolve(), self._partial.resolve(), self._side.resolve()}
        own_names = {path.name for path in own}  # resolve() only what could be this archive: it costs a syscall
        files = []
        for relative, path in _walk(site_dir / BUNDLE_DIR if only_bundle else site_dir, site_dir):
            if path.name in own_names and path.resolve() in own:
                continue
            order = archive_order(relative)
            if skip_bundle and order[0]:
                continue
            files.append((order, path))
        files.sort()
        self._take_prepared()
        # A bounded window of batches in flight: memory stays flat whatever the size of the site.
        window: deque[Callable[[], list]] = deque()
        batch: list = []
        with ThreadPoolExecutor(max_workers=min(usable_cores(), 8)) as pool:

            def submit_batch() -> None:
                window.append(pool.submit(self._pack_files, list(batch)).result)
                batch.clear()

            for file in files:
                relative = file[0][1]
                if relative in self._prepared:
                    if batch:
                        submit_batch()
                    window.append(lambda relative=relative: [(relative, self._read_prepared(relative))])
                else:
                    batch.append(file)
                    if len(batch) == ARCHIVE_BATCH:
                        submit_batch()
                while len(window) >= ARCHIVE_WINDOW:
                    self._write_entries(window.popleft()())
            if batch:
                submit_batch()
            while window:
                self._write_entries(window.popleft()())

    def _pack_files(self, batch: list) -> list:
        return [(relative, self._pack(relative, path.read_bytes())) for (_, relative), path in batch]

    def _pack(self, relative: str, data: bytes) -> tuple[int, int, bytes]:
        """(size, CRC-32, the entry's data): stored, or raw deflate as zipfile writes it."""
        if relative.endswith(STORED_SUFFIXES):
            return len(data), zlib.crc32(data), data
        compressor = zlib.compressobj(self._level, zlib.DEFLATED, -15)
        return len(data), zlib.crc32(data), compressor.compress(data) + compressor.flush()

    def _write_entries(self, packed: list) -> None:
        for relative, (size, crc, payload) in packed:
            self._write_entry(relative, size, crc, payload)

    def _write_entry(self, relative: str, size: int, crc: int, payload: bytes) -> None:
        name = f"{self.root}/{relative}" if self.root else relative
        info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
        info.external_attr = 0o100644 << 16
        info.create_system = 3  # unix, whatever the building machine is
        info.compress_type = zipfile.ZIP_STORED if relative.endswith(STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
        info._compresslevel = self._level
        info.file_size, info.CRC, info.compress_size = size, crc, len(payload)
        # What ZipFile.writestr does once it knows the sizes: the local header, the data, the entry in the
        # central directory (written by close). zipfile has no public way to add data compressed elsewhere.
        archive = self._zip
        zip64 = size * 1.05 > zipfile.ZIP64_LIMIT
        archive.fp.seek(archive.start_dir)
        info.header_offset = archive.fp.tell()
        archive._writecheck(info)
        archive._didModify = True
        archive.fp.write(info.FileHeader(zip64))
        archive.fp.write(payload)
        archive.start_dir = archive.fp.tell()
        archive.filelist.append(info)
        archive.NameToInfo[info.filename] = info

    def close(self) -> None:
        self._discard_prepared()
        self._zip.close()
        self._partial.replace(self.out)  # readers never see a half-written archive

    def abort(self) -> None:
        if self._preparing is not None:
            stop_child(self._preparing[0])
        self._discard_prepared()
        self._zip.close()
        self._partial.unlink(missing_ok=True)

    def _discard_prepared(self) -> None:
        self._take_prepared()
        if self._side_file is not None:
            self._side_file.close()
            self._side_file = None
        self._prepared = {}
        self._side.unlink(missing_ok=True)


ARCHIVE_BATCH = 16  # files per task: one task per file cost more in handing over than small files take
ARCHIVE_WINDOW = 32  # batches (or prepared files) read and compressed ahead of the one being written


def _walk(top: Path, site_dir: Path):
    """(path relative to site_dir, path) of every file under top; os.scandir: no stat per file."""
    base = len(str(site_dir)) + 1
    stack = [str(top)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            elif entry.is_file():
                yield entry.path[base:].replace(os.sep, "/"), Path(entry.path)


def make_archive(site_dir: Path, out: Path, root: str | None = None) -> Path:
    """Zip a built site into `out` (entries under `root`/, default: out's name without .zip). Returns out."""
    writer = ArchiveWriter(out, root)
    try:
        writer.add_site(site_dir)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return Path(out)


# ---------------------------------------------------------------------------- serving


class ArchiveSite:
    """The files of a site archive, by URL path."""

    def __init__(self, archive: Path):
        self.zip = zipfile.ZipFile(archive)
        names = [n for n in self.zip.namelist() if not n.endswith("/")]
        tops = {n.split("/", 1)[0] for n in names}
        # One top-level folder holding the site (as make_archive writes it), or the site at the root.
        self.prefix = f"{tops.pop()}/" if len(tops) == 1 and all("/" in n for n in names) else ""
        self.files = {n[len(self.prefix):]: n for n in names}
        self._lock = threading.Lock()

    def read(self, relative: str) -> bytes:
        with self._lock:  # ZipFile handles are not safe to share between threads
            return self.zip.read(self.files[relative])

    def resolve(self, url_path: str) -> tuple[str, str]:
        """('file', path) | ('redirect', location) | ('missing', '') for a request path."""
        path = posixpath.normpath(unquote(url_path)).lstrip("/")
        if path in (".", ""):
            path = ""
        if ".." in path.split("/"):
            return "missing", ""
        if path in self.files:
            return "file", path
        index = posixpath.join(path, "index.html") if path else "index.html"
        if index in self.files:
            if url_path.endswith("/") or not path:
                return "file", index
            return "redirect", url_path + "/"
        return "missing", ""


class ArchiveHandler(BaseHTTPRequestHandler):
    server_version = "incidentkb-offline"

    def __init__(self, *args, site: ArchiveSite, quiet: bool = False, **kwargs):
        self.site = site
        self.quiet = quiet
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._respond(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        url = urlsplit(self.path)
        kind, target = self.site.resolve(url.path)
        if kind == "redirect":
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", target + (f"?{url.query}" if url.query else ""))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = HTTPStatus.OK
        if kind == "missing":
            status = HTTPStatus.NOT_FOUND
            target = "404.html" if "404.html" in self.site.files else ""
        body = self.site.read(target) if target else b"Not found\n"
        self.send_response(status)
        self.send_header("Content-Type", content_type(target or "x.txt"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's signature
        if not self.quiet:
            super().log_message(format, *args)


def content_type(path: str) -> str:
    suffix = posixpath.splitext(path)[1].lower()
    kind = MIME_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    return kind + ("; charset=utf-8" if kind.startswith("text/") or kind in ("application/json",
                                                                             "application/xml") else "")


class ArchiveServer(ThreadingHTTPServer):
    """A threading HTTP server over one ArchiveSite; closing it closes the zip."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], site: ArchiveSite, quiet: bool = False):
        self.site = site
        super().__init__(address, partial(ArchiveHandler, site=site, quiet=quiet))

    def server_close(self) -> None:
        super().server_close()
        self.site.zip.close()


def archive_server(archive: Path, host: str = "127.0.0.1", port: int = 8000, *, quiet: bool = False) -> ArchiveServer:
    """A server (not yet serving) for the site in `archive`; port 0 picks a free port (see .server_address)."""
    try:
        site = ArchiveSite(Path(archive))
    except zipfile.BadZipFile:
        raise ValueError(f"{archive}: not a zip file (expected the site.zip that `kb build` writes into the "
                         "site)") from None
    if "index.html" not in site.files:
        site.zip.close()
        raise ValueError(f"{archive}: not a site archive (no index.html at its top)")
    try:
        return ArchiveServer((host, port), site, quiet)
    except OSError:
        site.zip.close()
        raise


def serve_archive(archive: Path, host: str = "127.0.0.1", port: int = 8000, *, quiet: bool = False,
                  on_ready=None) -> None:
    """Serve the site in `archive` at http://host:port/ until interrupted (Ctrl-C). Blocks.

    `on_ready(url)` is called once the socket is listening (the CLI prints the address).
    Raises ValueError for a file that is not a zip or holds no site, OSError when the port is taken.
    """
    server = archive_server(archive, host, port, quiet=quiet)
    bound_host, bound_port = server.server_address[:2]
    if on_ready is not None:
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        on_ready(f"http://{shown}:{bound_port}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
