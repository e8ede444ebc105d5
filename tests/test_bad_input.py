"""The bad-input corpus: broken files a contributor really writes, and what `kb check` must say about each.

Every folder under tests/badinput/ is a tiny knowledge base with one mistake in it, plus an
`expected.yml`:

    description: what the contributor did
    exit: 1                 # the exit code that reports the problem
    strict: true            # optional: the findings are warnings, so plain `kb check` exits 0
                            # and only `kb check --strict` exits with `exit`
    findings:               # ALL findings of the case, no more and no fewer
      - path: incidents/2025/INC-2025-014-checkout-latency.md
        line: 3             # 0 when the finding is about the whole file
        code: yaml-syntax
        level: error
        message_contains: quoted scalar
        hint_contains: quote   # optional
        note: ...              # optional: why this finding is there

Folders starting with "_" are not cases: `_valid` is the unbroken knowledge base the cases are
derived from, and must check clean. The files are byte-exact (CRLF, BOM, Latin-1, UTF-16, NUL);
tests/badinput/.gitattributes keeps git from normalising them.

Each case is run on a private copy (never on the committed folder), and the copy must be
byte-identical afterwards: checking never changes what a contributor wrote.
"""

from __future__ import annotations

import codecs
import collections
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from conftest import run_kb

from incidentkb.checks.consistency import check_knowledge_base
from incidentkb.core.findings import sort_findings
from incidentkb.core.yamlsafe import HAVE_LIBYAML
from incidentkb.records.load import load

# The corpus is about broken files, not deadlines: judge it on a day when the valid parts comply.
CORPUS_TODAY = "2025-04-01"

BADINPUT = Path(__file__).resolve().parent / "badinput"
CASES = sorted(p.name for p in BADINPUT.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
ALL_FOLDERS = sorted(p.name for p in BADINPUT.iterdir() if p.is_dir() and not p.name.startswith("."))

# Bytes that must really be on disk in the committed case (a lost .gitattributes, an editor or a
# `git add --renormalize` would silently turn these cases into different ones).
RAW_BYTES = {
    "byte-order-mark": codecs.BOM_UTF8,
    "crlf-line-endings": b"\r\n",
    "crlf-and-bom-with-an-error": b"\r\n",
    "utf16-file": codecs.BOM_UTF16_LE,
    "non-utf8-byte-in-body": b"\xe9",
    "windows-1252-quotes": b"\x93",
    "nul-bytes": b"\x00",
    "tab-indentation": b"\t",
    "line-separator-in-value": "\u2028".encode(),
    "terminal-colour-codes": b"\x1b[31m",
}

# Where the pure-Python YAML parser (the fallback without libyaml) legitimately reports something
# different from libyaml, by case: the reason. Compared are (path, line, code) only, because two
# things do differ legitimately and are left out of the comparison:
# - the wording of YAML syntax errors: libyaml says "did not find expected key", PyYAML "expected
#   <block end>, but found '<scalar>'" (the hints are chosen from either wording);
# - some columns: for an unknown escape such as "\q" libyaml points at the backslash, PyYAML at the q.
# No case needs an entry today. Before yamlsafe.py translated them, these differed too: libyaml's own
# nesting limit was a yaml-syntax error and PyYAML's a yaml-too-deep on the first line (nesting-5000-deep),
# and libyaml did not name the character in "found character that cannot start any token".
# One real disagreement is kept out of the corpus on purpose: a tab after the colon (`title:<TAB>x`) is
# valid YAML that libyaml accepts and PyYAML rejects, so no one expectation could hold for both parsers.
PURE_YAML_DIFFERENCES: dict[str, str] = {}

def _cases(names):
    return list(names)


def _expected(name: str) -> dict:
    return yaml.safe_load((BADINPUT / name / "expected.yml").read_text(encoding="utf-8"))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _copy_case(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(BADINPUT / name, target, ignore=shutil.ignore_patterns("expected.yml"))
    return target


def _line_count(path: Path) -> int:
    """Lines as an editor numbers them: an empty file has line 1, and so has the end after the last LF."""
    return path.read_bytes().count(b"\n") + 1


def _json(result) -> list[dict]:
    # `kb check --format json` prints nothing at all when there are no findings (reported to the lead:
    # a tool reading the output would expect `[]`), so an empty output counts as no findings here.
    return result.json if result.out.strip() else []


def _key(finding: dict) -> tuple:
    return finding["path"], finding["line"], finding["code"], finding["level"]


def _assert_findings_match(actual: list[dict], expected: list[dict]) -> None:
    """Exactly the expected findings (as a multiset of path/line/code/level), each with its message and hint."""
    assert collections.Counter(map(_key, actual)) == collections.Counter(map(_key, expected)), (
        "findings differ:\n  actual:   " + "\n            ".join(map(str, sorted(map(_key, actual))))
        + "\n  expected: " + "\n            ".join(map(str, sorted(map(_key, expected)))))
    for want in expected:
        candidates = [f for f in actual if _key(f) == _key(want)]
        assert any(want["message_contains"] in f["message"] for f in candidates), (
            f"{_key(want)}: no message contains {want['message_contains']!r}: {[f['message'] for f in candidates]}")
        if "hint_contains" in want:
            assert any(want["hint_contains"] in f["hint"] for f in candidates), (
                f"{_key(want)}: no hint contains {want['hint_contains']!r}: {[f['hint'] for f in candidates]}")


# ------------------------------------------------------------------------------ the corpus itself


def test_there_are_at_least_30_cases():
    assert len(CASES) >= 30, CASES


@pytest.mark.parametrize("name", ALL_FOLDERS)
def test_expected_file_is_well_formed(name):
    expected = _expected(name)
    assert set(expected) <= {"description", "exit", "strict", "findings"}, expected
    assert expected["description"].strip()
    assert expected["exit"] in (0, 1)
    if name.startswith("_"):
        assert expected["exit"] == 0 and not expected["findings"]
        return
    assert expected["exit"] == 1, "every case is a mistake that `kb check` (or `kb check --strict`) must fail on"
    assert expected["findings"], "a case without findings tests nothing"
    levels = {f["level"] for f in expected["findings"]}
    # strict: true exactly when nothing is an error: then plain `kb check` passes.
    assert expected.get("strict", False) == (levels == {"warning"}), levels
    for finding in expected["findings"]:
        assert set(finding) >= {"path", "line", "code", "level", "message_contains"}, finding
        assert set(finding) <= {"path", "line", "code", "level", "message_contains", "hint_contains", "note"}, finding
        assert (BADINPUT / name / finding["path"]).is_file(), f"{finding['path']} is not in the case"


def test_gitattributes_keeps_the_bytes_exact():
    rules = (BADINPUT / ".gitattributes").read_text(encoding="utf-8").split()
    assert "-text" in rules


@pytest.mark.parametrize("name", sorted(RAW_BYTES))
def test_committed_case_holds_the_raw_bytes(name):
    files = _snapshot(BADINPUT / name)
    assert any(RAW_BYTES[name] in data for rel, data in files.items() if rel != "expected.yml"), (
        f"{name}: no file contains {RAW_BYTES[name]!r}; was it normalised by git or an editor?")


# ------------------------------------------------------------------------------ running `kb check`


@pytest.mark.parametrize("name", _cases(ALL_FOLDERS))
def test_kb_check_reports_the_case(name, tmp_path, monkeypatch):
    expected = _expected(name)
    root = _copy_case(name, tmp_path)
    before = _snapshot(root)
    assert before == {rel: data for rel, data in _snapshot(BADINPUT / name).items() if rel != "expected.yml"}
    # A YAML tag that ran code would write here (see the python-object-tag case).
    monkeypatch.chdir(tmp_path)

    plain_exit = 0 if expected.get("strict") else expected["exit"]
    result = run_kb("check", "--root", root, "--today", CORPUS_TODAY, "--format", "json")
    assert "Traceback" not in result.out + result.err
    assert result.code == plain_exit, result.out + result.err
    actual = _json(result)
    _assert_findings_match(actual, expected["findings"])
    for finding in actual:
        assert finding["hint"].strip(), f"finding without a hint: {finding}"
        assert finding["message"].strip() and finding["path"] and finding["level"] in ("error", "warning")
        if finding["line"]:
            assert 1 <= finding["line"] <= _line_count(root / finding["path"]), finding

    strict = run_kb("check", "--root", root, "--today", CORPUS_TODAY, "--format", "json", "--strict")
    assert "Traceback" not in strict.out + strict.err
    assert strict.code == expected["exit"]
    assert _json(strict) == actual

    text = run_kb("check", "--root", root, "--today", CORPUS_TODAY)
    assert "Traceback" not in text.out + text.err
    assert text.code == plain_exit
    for finding in expected["findings"]:
        head = f"{finding['path']}:{finding['line']}:"
        assert any(line.startswith(head) and f" {finding['level']} {finding['code']}: " in line
                   for line in text.out.splitlines()), f"no text line {head} ... {finding['code']} in:\n{text.out}"
    errors = sum(f["level"] == "error" for f in actual)
    assert f"{errors} error{'s' if errors != 1 else ''}, " in text.err

    github = run_kb("check", "--root", root, "--today", CORPUS_TODAY, "--format", "github")
    assert "Traceback" not in github.out + github.err
    assert github.code == plain_exit
    assert len([line for line in github.out.splitlines() if line.startswith("::")]) == len(actual)

    assert _snapshot(root) == before, "kb check changed the files it checked"
    assert not (tmp_path / "pwned.txt").exists(), "a YAML tag ran code"


# ------------------------------------------------------------------------------ the pure-Python YAML fallback


def _findings(root: Path, pure_yaml: bool) -> set[tuple]:
    kb, findings = load(root, pure_yaml=pure_yaml)
    return {(f.path, f.line, f.code) for f in sort_findings(findings + check_knowledge_base(kb, today=date.fromisoformat(CORPUS_TODAY)))}


@pytest.mark.parametrize("name", _cases(ALL_FOLDERS))
def test_pure_python_yaml_finds_the_same(name, tmp_path):
    """Machines without libyaml parse with PyYAML's pure-Python loader; the findings must not depend on it.

    (INCIDENTKB_PURE_YAML=1 is read when yamlsafe is imported, so the loader is chosen per call here.)
    """
    root = _copy_case(name, tmp_path)
    pure = _findings(root, pure_yaml=True)
    expected = {(f["path"], f["line"], f["code"]) for f in _expected(name)["findings"]}
    assert pure == expected or name in PURE_YAML_DIFFERENCES, f"pure-Python parser: {sorted(pure)}"
    if HAVE_LIBYAML and name not in PURE_YAML_DIFFERENCES:
        assert _findings(root, pure_yaml=False) == pure


# ------------------------------------------------------------------------------ generated cases


def test_file_over_the_default_size_limit(kb_root):
    """Without a policy file the limit is 1,000,000 bytes; a file one byte over is refused, not read."""
    from incidentkb.records.frontmatter import DEFAULT_MAX_FILE_BYTES

    head = (BADINPUT / "_valid" / "incidents/2025/INC-2025-014-checkout-latency.md").read_bytes()
    data = head + b"\n## Log\n\n" + b"x" * (DEFAULT_MAX_FILE_BYTES - len(head) - 9) + b"\n"
    assert len(data) == DEFAULT_MAX_FILE_BYTES + 1
    root = kb_root({"incidents/2025/INC-2025-014-checkout-latency.md": data})
    result = run_kb("check", "--root", root, "--today", CORPUS_TODAY, "--format", "json")
    assert result.code == 1 and "Traceback" not in result.out + result.err
    [finding] = result.json
    assert (finding["line"], finding["code"], finding["level"]) == (0, "file-too-large", "error")
    assert "1,000,001 bytes" in finding["message"] and finding["hint"]


def test_file_at_the_default_size_limit_is_read(kb_root):
    from incidentkb.records.frontmatter import DEFAULT_MAX_FILE_BYTES

    head = (BADINPUT / "_valid" / "incidents/2025/INC-2025-014-checkout-latency.md").read_bytes()
    data = head + b"\n## Log\n\n" + b"x" * (DEFAULT_MAX_FILE_BYTES - len(head) - 10) + b"\n"
    assert len(data) == DEFAULT_MAX_FILE_BYTES
    root = kb_root({"incidents/2025/INC-2025-014-checkout-latency.md": data})
    result = run_kb("check", "--root", root, "--today", CORPUS_TODAY, "--format", "json")
    assert (result.code, _json(result)) == (0, [])
