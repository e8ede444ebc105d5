"""The offline copy: a deterministic zip made by every build, served straight from the zip, and file:// use."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from browser_support import wait_done

from incidentkb.indexing.offline import ArchiveSite, ArchiveWriter, archive_server, content_type, make_archive


def write_site(folder: Path) -> Path:
    files = {"index.html": "<h1>Home</h1>", "404.html": "<h1>Not here</h1>", "incidents/2025/x/index.html": "<h1>X</h1>",
             "assets/app.js": "console.log(1)", "pagefind/pagefind.js": "export {}", "pagefind/wasm.en.pagefind": "\0",
             "pagefind/fragment/en_1.pf_fragment": "\0", "sitemap.xml.gz": "\0"}
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


@pytest.fixture
def served(tmp_path):
    """A function: serve an archive on a free localhost port in a thread; returns its base URL."""
    servers = []

    def serve(archive: Path) -> str:
        server = archive_server(archive, "127.0.0.1", 0, quiet=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def get(url: str):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


# ------------------------------------------------------------------------------ the archive


def test_archive_is_deterministic_and_ordered(tmp_path):
    site = write_site(tmp_path / "site")
    first, second = make_archive(site, tmp_path / "a" / "site.zip"), make_archive(site, tmp_path / "b" / "site.zip")
    assert first.read_bytes() == second.read_bytes()
    for path in site.rglob("*"):  # new mtimes must not matter
        path.touch()
    assert make_archive(site, tmp_path / "c" / "site.zip").read_bytes() == first.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        infos = archive.infolist()
    assert names == ["site/404.html", "site/assets/app.js", "site/incidents/2025/x/index.html", "site/index.html",
                     "site/sitemap.xml.gz", "site/pagefind/fragment/en_1.pf_fragment", "site/pagefind/pagefind.js",
                     "site/pagefind/wasm.en.pagefind"]
    assert {i.date_time for i in infos} == {(2000, 1, 1, 0, 0, 0)}
    stored = {i.filename for i in infos if i.compress_type == zipfile.ZIP_STORED}
    assert stored == {"site/sitemap.xml.gz", "site/pagefind/fragment/en_1.pf_fragment", "site/pagefind/wasm.en.pagefind"}
    assert not list(tmp_path.glob("*/*.part"))


def test_archive_has_the_bytes_zipfile_would_write(tmp_path):
    """The entries are compressed on several threads and written raw: the archive must still be exactly
    what zipfile.ZipFile.writestr writes for the same entries, level and order."""
    site = write_site(tmp_path / "site")
    (site / "big.html").write_text("<p>incident</p>\n" * 50_000)  # several MB: zlib releases the GIL
    for number in range(40):  # more files than one batch of the thread pool
        (site / "many" / f"{number:02}.html").parent.mkdir(exist_ok=True)
        (site / "many" / f"{number:02}.html").write_text(f"<p>page {number}</p>" * number)
    ours = make_archive(site, tmp_path / "ours" / "site.zip")
    expected = tmp_path / "expected.zip"
    with zipfile.ZipFile(expected, "w", zipfile.ZIP_DEFLATED) as reference, zipfile.ZipFile(ours) as archive:
        for info in archive.infolist():
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.external_attr, copy.create_system, copy.compress_type = (info.external_attr, info.create_system,
                                                                          info.compress_type)
            copy._compresslevel = 1
            reference.writestr(copy, (site / info.filename.removeprefix("site/")).read_bytes())
        assert archive.testzip() is None
    assert ours.read_bytes() == expected.read_bytes()


def test_files_compressed_ahead_go_in_their_place(tmp_path):
    """Pages the build workers wrote are compressed while the build finishes (ArchiveWriter.prepare): the
    archive is the same as one made at the end, whatever was prepared, even a file that was never written."""
    site = write_site(tmp_path / "site")
    for number in range(40):
        (site / "many" / f"{number:02}.html").parent.mkdir(exist_ok=True)
        (site / "many" / f"{number:02}.html").write_text(f"<p>page {number}</p>" * number)
    expected = make_archive(site, tmp_path / "expected" / "site.zip").read_bytes()
    writer = ArchiveWriter(tmp_path / "ahead" / "site.zip")
    writer.prepare(site, [f"many/{number:02}.html" for number in range(0, 40, 3)] + ["index.html", "never.html"])
    writer.add_site(site, skip_bundle=True)
    writer.add_site(site, only_bundle=True)
    writer.close()
    assert (tmp_path / "ahead" / "site.zip").read_bytes() == expected


def test_archive_inside_the_site_leaves_itself_out(tmp_path):
    site = write_site(tmp_path / "site")
    make_archive(site, site / "site.zip")
    again = make_archive(site, site / "site.zip")  # the previous archive is there now
    with zipfile.ZipFile(again) as archive:
        assert "site/site.zip" not in archive.namelist() and "site/index.html" in archive.namelist()


def test_requests_resolve_like_a_static_server(tmp_path):
    site = ArchiveSite(make_archive(write_site(tmp_path / "site"), tmp_path / "kb.zip"))
    try:
        assert site.prefix == "kb/"
        assert site.resolve("/") == ("file", "index.html")
        assert site.resolve("/incidents/2025/x/") == ("file", "incidents/2025/x/index.html")
        assert site.resolve("/incidents/2025/x") == ("redirect", "/incidents/2025/x/")
        assert site.resolve("/incidents/2025/x/index.html") == ("file", "incidents/2025/x/index.html")
        assert site.resolve("/assets/app%2Ejs") == ("file", "assets/app.js")
        assert site.resolve("/nothing/")[0] == "missing"
        assert site.resolve("/../../etc/passwd")[0] == "missing"
        assert site.resolve("/assets/../index.html") == ("file", "index.html")
    finally:
        site.zip.close()


def test_served_from_the_zip(tmp_path, served):
    base = served(make_archive(write_site(tmp_path / "site"), tmp_path / "site.zip"))
    status, headers, body = get(base)
    assert status == 200 and body == b"<h1>Home</h1>" and headers["Content-Type"] == "text/html; charset=utf-8"
    status, headers, _ = get(base + "incidents/2025/x")
    assert status == 301 and headers["Location"] == "/incidents/2025/x/"
    status, _, body = get(base + "no/such/page/")
    assert status == 404 and body == b"<h1>Not here</h1>"
    assert get(base + "pagefind/pagefind.js")[1]["Content-Type"].startswith("text/javascript")
    assert get(base + "pagefind/wasm.en.pagefind")[1]["Content-Type"] == "application/octet-stream"
    request = urllib.request.Request(base + "assets/app.js", method="HEAD")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200 and response.read() == b"" and response.headers["Content-Length"] == "14"


def test_a_zip_without_a_site_is_refused(tmp_path):
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match="not a site archive"):
        archive_server(archive, "127.0.0.1", 0)


def test_content_types():
    assert content_type("a/b.wasm") == "application/wasm"
    assert content_type("x.json") == "application/json; charset=utf-8"
    assert content_type("x.pf_meta") == "application/octet-stream"
    assert content_type("x.svg") == "image/svg+xml"


def test_the_build_makes_the_archive(sample_site):
    _, site = sample_site
    archive = site / "site.zip"
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
    on_disk = {"site/" + p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file() and p != archive}
    assert names == on_disk


# ------------------------------------------------------------------------------ in a browser


@pytest.mark.browser
@pytest.mark.slow
def test_offline_copy_works_with_every_outside_request_blocked(page, sample_site, served, tmp_path):
    root, site = sample_site
    base = served(site / "site.zip")
    failed = []
    page.on("response", lambda response: response.status >= 400 and failed.append(response.url))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    incident = next((root / "incidents/2025").glob("INC-2025-014-*.md")).relative_to(root).with_suffix("").as_posix()
    for path in ("", "incidents/", incident + "/", "runbooks/k8s-platform/kube-pod-crashlooping/",
                 "services/checkout/", "policy/", "runbooks/alerts/kubepodcrashlooping/"):
        page.goto(base + path)
        assert page.locator("h1").first.inner_text(), path
    page.keyboard.press("/")
    page.keyboard.type("x509: certificate has expired")
    wait_done(page)
    results = page.locator("[data-kb-search] .md-search-result__item")
    assert results.count() >= 3
    results.first.locator("a").click()
    page.wait_for_load_state()
    assert "certificate" in page.locator("h1").inner_text().lower()
    similar = [p for p in site.rglob("index.html") if 'id="kb-find-similar"' in p.read_text(encoding="utf-8")]
    if similar:  # the "find similar" page (assets/similar) must work from the copy too
        page.goto(base + similar[0].parent.relative_to(site).as_posix() + "/")
        page.locator("#kb-find-similar textarea").fill("pods OOMKilled and restarting in CrashLoopBackOff")
        page.wait_for_selector("#kb-find-similar a[href*='kube-pod-crashlooping']", timeout=5000)
    assert page.outside_requests == [] and failed == [] and errors == []


@pytest.mark.browser
@pytest.mark.slow
def test_pages_open_from_disk(browser, sample_site):
    _, site = sample_site
    context = browser.new_context()
    attempted = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                  else (attempted.append(route.request.url), route.abort()))
    page = context.new_page()
    page.goto((site / "index.html").as_uri())
    assert page.locator("h1").first.inner_text()
    # Folder links (incidents/) would show a directory listing on file://: they point at index.html.
    page.locator(".md-nav__link[href$='incidents/index.html']").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/incidents/index.html") and page.locator("h1").first.inner_text()
    page.locator("table a[href*='INC-']").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/index.html") and "INC-" in page.locator("h1").inner_text()
    # Search says how to get it rather than failing silently.
    page.keyboard.press("/")
    page.keyboard.type("OOMKilled")
    wait_done(page)
    message = page.locator("[data-kb-search] .md-search-result__meta").inner_text()
    assert "kb serve --offline site.zip" in message
    context.close()
    assert attempted == []
