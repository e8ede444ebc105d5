"""Outputs never touch inputs, and commands clean up behind themselves (issue 18):

- every --site-dir and --out that is, contains or lies inside the knowledge base's inputs is refused
  (exit 2, nothing written);
- staging folders go on every exit path (SIGTERM included) and are ignored by git;
- what is written gets the umask's permissions;
- `kb serve` and `kb serve --offline` run as a user runs them, and leave no process behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import REPO, TODAY, run_kb

from incidentkb.core.staging import GITIGNORE_PATTERNS, remove_leftovers, staging_folder

KB = str(Path(sys.executable).parent / "kb")  # the console script, as a user runs it


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): (b"" if path.is_dir() else path.read_bytes())
            for path in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("args", [
    ("build", "--site-dir", "incidents"),
    ("build", "--site-dir", "."),
    ("build", "--site-dir", ".."),
    ("build", "--site-dir", "runbooks/site"),
    ("build", "--site-dir", "docs"),
    ("build", "--site-dir", ".git"),
    ("generate", "--out", "incidents"),
    ("generate", "--out", "."),
    ("generate", "--out", "docs/generated"),
    ("export", "--out", "problems"),
    ("export", "--out", "."),
    ("schema", "--out", "docs"),
    ("drill", "INC-2025-014", "--out", "incidents/drill.md"),
    ("index", "."),
])
def test_an_output_that_would_replace_or_feed_an_input_is_refused(sample_copy, args, monkeypatch):
    (sample_copy / ".git").mkdir()
    (sample_copy / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    monkeypatch.chdir(sample_copy)  # relative paths as a user types them in the knowledge base
    before = snapshot(sample_copy.parent)
    result = run_kb(*args, "--root", ".")
    assert result.code == 2, (result.out, result.err)
    assert "nothing was written" in result.err and "Traceback" not in result.err
    assert snapshot(sample_copy.parent) == before


def test_an_output_folder_of_its_own_inside_the_knowledge_base_is_fine(sample_copy, monkeypatch):
    monkeypatch.chdir(sample_copy)
    result = run_kb("export", "--root", ".", "--out", "exports", "--today", TODAY)
    assert result.code == 0, result.err
    assert (sample_copy / "exports" / "incidents.csv").is_file()


def test_files_are_written_with_the_umask_permissions(sample_copy, tmp_path):
    saved = os.umask(0o022)
    try:
        assert run_kb("export", "--root", sample_copy, "--out", tmp_path / "export", "--today", TODAY).code == 0
        assert run_kb("generate", "--root", sample_copy, "--out", tmp_path / "tree", "--today", TODAY).code == 0
    finally:
        os.umask(saved)
    for path in (tmp_path / "export").iterdir():
        assert oct(path.stat().st_mode & 0o777) == oct(0o644), path  # mkstemp's 0600 was kept before
    assert oct((tmp_path / "tree").stat().st_mode & 0o777) == oct(0o755)  # mkdtemp's 0700 was kept before


def test_the_built_site_has_the_umask_permissions(sample_site):
    umask = os.umask(0o022)
    os.umask(umask)
    site = sample_site[1]
    assert oct(site.stat().st_mode & 0o777) == oct(0o777 & ~umask)
    assert oct((site / "site.zip").stat().st_mode & 0o777) == oct(0o666 & ~umask)


def test_staging_folders_are_removed_and_leftovers_of_killed_runs_too(tmp_path):
    final = tmp_path / "site"
    dead = tmp_path / ".site-building-999999999-abc"  # a pid that cannot exist: its run was killed
    dead.mkdir()
    alive = tmp_path / f".site-building-{os.getpid()}-xyz"  # a run still going: left alone
    alive.mkdir()
    with pytest.raises(RuntimeError):
        with staging_folder(final, "building") as staging:
            (staging / "index.html").write_text("half a site")
            raise RuntimeError("the build failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name]
    assert remove_leftovers(tmp_path, "site", "building") == []


def test_staging_folders_are_ignored_by_git_here_and_in_new_knowledge_bases(tmp_path):
    init = REPO / "scripts/incidentkb/authoring/init/.gitignore"
    for gitignore in (REPO / ".gitignore", init):
        repo = tmp_path / gitignore.parent.name
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        (repo / ".gitignore").write_bytes(gitignore.read_bytes())
        names = [".site-building-123-abcd/index.html", ".out-generating-9-x/a.md", ".site-old-77/index.html"]
        for name in names:
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_text("x")
        listed = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all"],
                                capture_output=True, text=True, check=True).stdout
        assert listed.strip() == "?? .gitignore", (gitignore, listed)
    for pattern in GITIGNORE_PATTERNS:
        assert pattern in init.read_text().splitlines()


# ------------------------------------------------------------------ processes: kb build, kb serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def descendants(pid: int) -> set[int]:
    """Every process under `pid` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, timeout: float, what: str, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited ({process.returncode}) before {what}: {log_of(process)[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def answers(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read()
    except OSError:
        return None


def start(*args: str, cwd: Path, log: Path) -> subprocess.Popen:
    """Run kb as a user does; its output goes to a file (a pipe nobody reads could fill up and block it)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("KB_ENGINE", None)
    with open(log, "w") as out:
        process = subprocess.Popen([KB, *args], cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
    process.log = log
    return process


def log_of(process: subprocess.Popen) -> str:
    return process.log.read_text(errors="replace")


def stop(process: subprocess.Popen, signum: int, timeout: float) -> int:
    """Send `signum` as a user or a process manager would, and return the exit code."""
    process.send_signal(signum)
    return process.wait(timeout=timeout)


@contextmanager
def killed_at_the_end(process: subprocess.Popen):
    """Whatever a failed assertion leaves running is killed."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_kb_serve_answers_and_sigterm_leaves_no_process_and_a_free_port(sample_copy, tmp_path):
    port = free_port()
    kb = start("serve", "--dev-addr", f"127.0.0.1:{port}", cwd=sample_copy, log=tmp_path / "serve.log")
    with killed_at_the_end(kb):
        page = wait_for(lambda: answers(f"http://127.0.0.1:{port}/"), 240, "kb serve to answer", kb)
        assert b"Tidewater" in page or b"incident" in page.lower()
        children = descendants(kb.pid)
        assert children, "kb serve runs the engine as a child"
        code = stop(kb, signal.SIGTERM, 60)
    assert code == 128 + signal.SIGTERM, log_of(kb)[-2000:]
    wait_for(lambda: not [pid for pid in children if alive(pid)], 10, "the engine's processes to end")
    assert port_is_free(port)


@pytest.mark.slow
def test_kb_serve_offline_serves_the_archive_until_stopped(sample_site, tmp_path):
    port = free_port()
    kb = start("serve", "--offline", str(sample_site[1] / "site.zip"), "--dev-addr", f"127.0.0.1:{port}", cwd=tmp_path,
               log=tmp_path / "serve.log")
    with killed_at_the_end(kb):
        page = wait_for(lambda: answers(f"http://127.0.0.1:{port}/"), 60, "kb serve --offline to answer", kb)
        assert b"<html" in page.lower()
        assert answers(f"http://127.0.0.1:{port}/pagefind/pagefind-entry.json")
        code = stop(kb, signal.SIGINT, 30)  # Ctrl-C
    assert code in (0, 130), log_of(kb)
    assert port_is_free(port)


def test_kb_serve_offline_given_a_file_that_is_not_a_zip_exits_2(tmp_path):
    not_zip = tmp_path / "site.zip"
    not_zip.write_text("<html>not an archive</html>")
    result = run_kb("serve", "--offline", not_zip)
    assert result.code == 2
    assert f"--offline {not_zip}: {not_zip}: not a zip file" in result.err and "Traceback" not in result.err


@pytest.mark.slow
def test_a_build_stopped_with_sigterm_leaves_the_last_site_and_no_staging_folder(sample_copy, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("the last good site")
    kb = start("build", "--site-dir", str(site), "--today", TODAY, cwd=sample_copy, log=tmp_path / "build.log")
    with killed_at_the_end(kb):
        staging = wait_for(lambda: list(tmp_path.glob(".site-building-*")), 120, "the staging folder", kb)
        wait_for(lambda: descendants(kb.pid), 30, "the engine to start", kb)
        children = descendants(kb.pid)
        code = stop(kb, signal.SIGTERM, 60)
    assert code == 128 + signal.SIGTERM, log_of(kb)[-2000:]
    assert not staging[0].exists() and list(tmp_path.glob(".site-*")) == []
    assert (site / "index.html").read_text() == "the last good site"
    wait_for(lambda: not [pid for pid in children if alive(pid)], 10, "the engine's processes to end")
