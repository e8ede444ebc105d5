"""Bad input through the real `mkdocs build`, not only `kb check`: never a traceback.

Every case of the bad-input corpus (tests/badinput/) is built as `mkdocs build` and as
`mkdocs build --strict`:
- without --strict the site is built from what can be built, every finding of the case is
  listed, and the exit code is 1 when the case has errors (0 when it has only warnings);
- with --strict the build stops with the findings listed (exit 1). The strict build runs for the
  cases where it decides the exit code (warnings only, and the valid base) and for a few cases
  with errors: a strict build takes the same path as a plain one until MkDocs counts the
  messages at the end, and each build costs about two seconds.
"""

from __future__ import annotations

import shutil

import pytest
from build_support import mkdocs_build_here
from test_bad_input import ALL_FOLDERS, BADINPUT, CORPUS_TODAY, _expected

from incidentkb.records.policy import RULES

pytestmark = pytest.mark.slow

STRICT_TOO = {"policy-yaml-error", "unknown-severity", "nul-bytes", "python-object-tag", "recursive-alias"}


def _copy(name, tmp_path):
    root = tmp_path / name
    shutil.copytree(BADINPUT / name, root, ignore=shutil.ignore_patterns("expected.yml"))
    return root


@pytest.mark.parametrize("name", ALL_FOLDERS)
def test_mkdocs_build_lists_the_findings_and_never_crashes(name, tmp_path):
    expected = _expected(name)
    root = _copy(name, tmp_path)
    has_errors = any(f["level"] == "error" for f in expected["findings"])

    plain = mkdocs_build_here(root, tmp_path / "site", today=CORPUS_TODAY)
    assert plain.crash is None, f"{type(plain.crash).__name__}: {plain.crash}"
    assert plain.code == (1 if has_errors else 0), plain.text()
    for finding in expected["findings"]:
        if finding["code"] in RULES and finding["level"] == "warning":
            continue  # a compliance warning is on the compliance page; the build counts them (plugin.py)
        where = f"{finding['path']}:{finding['line']}" if finding["line"] else finding["path"]
        assert f"{where}: {finding['code']}: " in plain.text(), f"{where} {finding['code']} not listed:\n{plain.text()}"
    if not any(f["code"] == "yaml-syntax" and f["path"] == "policy.yml" for f in expected["findings"]) \
            and "policy" not in name:
        assert (tmp_path / "site/index.html").is_file(), "what could be built was not built"

    if has_errors and name not in STRICT_TOO:
        return
    strict = mkdocs_build_here(root, tmp_path / "site-strict", strict=True, today=CORPUS_TODAY)
    assert strict.crash is None, f"{type(strict.crash).__name__}: {strict.crash}"
    assert strict.code == expected["exit"], strict.text()
    for finding in expected["findings"]:
        assert f"{finding['path']}" in strict.text()
