"""The shape of the package: layers without cycles, public names that stay, a map that matches the tree,
and exit codes that match their documentation."""

from __future__ import annotations

import ast
import re
from importlib.metadata import entry_points
from pathlib import Path

import markdown
import pytest
from conftest import REPO

from incidentkb.core.errors import EXIT_CODES

PACKAGE = REPO / "scripts" / "incidentkb"
LONG_MODULE = 500  # lines; a longer module is one concern and says why at its top


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every package module `path` imports, at any depth (inside functions too), except under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path)
    found: set[str] = set()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = here if path.name == "__init__.py" else here.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target.startswith("incidentkb") and (module := resolve(target)) and module != here:
                found.add(module)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports_of(path, set(files)) for name, path in files.items()}


def test_the_import_graph_has_no_cycles():
    graph = import_graph()
    assert len(graph) > 50
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            # A package's __init__ importing its own modules is how a package re-exports; not a cycle of ours.
            if target.startswith(node + "."):
                continue
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_cycle_finder_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "incidentkb" / "a.py"
    source.parent.mkdir()
    source.write_text("def f():\n    from incidentkb.b import x\n", encoding="utf-8")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "incidentkb"
    try:
        assert imports_of(source, {"incidentkb.a", "incidentkb.b"}) == {"incidentkb.b"}
    finally:
        PACKAGE = saved


def test_no_imports_inside_functions_without_a_reason():
    """Imports sit at the top of a module; one inside a function must say why (start-up time) on its line."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").split("\n")
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)) and "start-up" not in lines[inner.lineno - 1]:
                        offenders.append(f"{path.relative_to(REPO)}:{inner.lineno}")
    assert offenders == []


def test_public_names_keep_working():
    """What knowledge bases and tools name: the `kb` command, the MkDocs plugin, the Markdown extensions."""
    scripts = {ep.name: ep for ep in entry_points(group="console_scripts") if ep.name == "kb"}
    assert scripts["kb"].value == "incidentkb.cli:main" and callable(scripts["kb"].load())
    plugins = {ep.name: ep for ep in entry_points(group="mkdocs.plugins")}
    assert plugins["incidentkb"].load().__name__ == "IncidentKBPlugin"
    for name in ("incidentkb.training", "incidentkb.a11y"):  # listed under markdown_extensions in mkdocs.yml
        markdown.Markdown(extensions=[name]).convert("*[MTTR]: Mean time to restore\n\nMTTR\n")


def test_long_modules_say_why():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG_MODULE and "Why this module is long" not in text[:4000]:
            long.append(f"{path.relative_to(REPO)} ({text.count(chr(10))} lines)")
    assert long == []


def test_the_architecture_map_matches_the_tree():
    text = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert len(packages) >= 8
    for package in packages:
        assert f"`{package}/`" in text, f"ARCHITECTURE.md does not describe {package}/"
    names = {p.name for p in PACKAGE.rglob("*.py")}
    for mentioned in sorted(set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)`", text))):
        if "/" in mentioned and not mentioned.startswith("tests/"):
            assert (PACKAGE / mentioned).is_file(), f"ARCHITECTURE.md names {mentioned}, which is not in the package"
        elif mentioned.startswith("tests/"):
            assert (REPO / mentioned).is_file(), f"ARCHITECTURE.md names {mentioned}, which does not exist"
        else:
            assert mentioned in names, f"ARCHITECTURE.md names {mentioned}, which is not in the package"


def test_documented_exit_codes_are_the_real_ones():
    guide = (REPO / "docs/guide/commands.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", guide, re.MULTILINE))
    assert {int(code) for code in table} == set(EXIT_CODES)
    for code, meaning in EXIT_CODES.items():
        assert meaning.split(":")[0] in table[str(code)]


@pytest.mark.parametrize("error, code", [("UsageError", 2), ("ProblemsFound", 1)])
def test_each_error_class_carries_its_exit_code(error, code):
    from incidentkb.core import errors

    assert getattr(errors, error).exit_code == code
