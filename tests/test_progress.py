"""Progress on long work: one line on a terminal's standard error, nothing in pipes, files and CI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_kb

from incidentkb.core import progress as progress_module
from incidentkb.core.progress import TerminalProgress, terminal_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_one_line_rewritten_then_cleared(monkeypatch):
    monkeypatch.setattr(progress_module, "INTERVAL", 0)
    screen = Terminal()
    show = TerminalProgress(screen)
    for done in range(1, 301):
        show("reading records", done, 300)
    text = screen.getvalue()
    assert "\n" not in text  # one line, rewritten in place
    assert "\r\x1b[Kreading records 150/300 (50%)" in text
    assert text.endswith("\r\x1b[K")  # cleared at the end: the command's output starts on a clean line


def test_small_jobs_show_nothing():
    screen = Terminal()
    TerminalProgress(screen)("reading records", 5, 10)
    assert screen.getvalue() == ""


def test_progress_only_for_a_person_at_a_terminal(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert terminal_progress(Terminal()) is not None
    assert terminal_progress(io.StringIO()) is None  # a pipe or a file
    monkeypatch.setenv("CI", "true")  # CI systems that give jobs a pseudo-terminal
    assert terminal_progress(Terminal()) is None
    monkeypatch.delenv("CI")
    monkeypatch.setenv("TERM", "dumb")
    assert terminal_progress(Terminal()) is None


@pytest.mark.parametrize("args", [("similar", "--all"), ("export", "--format", "json", "--out", "-")])
def test_the_long_commands_report_progress_on_a_terminal(sample_copy, monkeypatch, args):
    monkeypatch.setattr(progress_module, "wanted", lambda stream: True)  # run_kb's stderr is no terminal
    monkeypatch.setattr(progress_module, "MIN_TOTAL", 1)  # the sample is small
    monkeypatch.setattr(progress_module, "INTERVAL", 0)
    result = run_kb(*args, "--root", sample_copy)
    assert result.code == 0, result.err
    assert "\r\x1b[Kreading records " in result.err
    if args[0] == "similar":
        assert "\r\x1b[Kranking similar incidents " in result.err
    assert "\r" not in result.out  # standard output stays clean for pipes


def test_nothing_but_the_output_in_a_pipe(sample_copy):
    env = {**os.environ, "TERM": "xterm"}
    env.pop("CI", None)
    kb = Path(sys.executable).parent / "kb"
    done = subprocess.run([str(kb), "similar", "--all", "--root", str(sample_copy)], capture_output=True, text=True,
                          env=env)
    assert done.returncode == 0 and "\r" not in done.stderr and "\r" not in done.stdout
