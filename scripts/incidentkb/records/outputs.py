"""Outputs never touch inputs: the one check of every --site-dir and --out.

`kb build --site-dir incidents` once replaced the incidents folder with the site, and
`kb build --site-dir .` the whole knowledge base, .git included. A command that writes a
folder (a site, a Markdown tree, an export, schemas) or a file (a drill) asks
`check_output(path, root, option)` first. It refuses, as a usage error (exit 2, nothing
written), a path that:

- is, or contains, the knowledge base, one of its record folders, its docs folder or .git
  (a site swapped in there would replace them);
- lies inside a record folder, the docs folder or .git (the output would become input:
  `mkdocs serve` would rebuild forever, the next `kb check` would read it).

A path elsewhere inside the knowledge base (site/, kb-export-2026-12-01/) is fine. Paths are
compared after resolving symlinks, so a link to the knowledge base is caught too.
"""

from __future__ import annotations

from pathlib import Path

from incidentkb.core.errors import UsageError
from incidentkb.records.load import Layout


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def protected_folders(root: Path, docs_dir: Path | None = None, layout: Layout = Layout()) -> dict[str, Path]:
    """{what it is: folder} of the inputs an output must stay clear of."""
    root = root.resolve()
    folders = {"the knowledge base": root, ".git": root / ".git"}
    for kind, folder in layout.record_dirs().items():
        folders[f"the {kind} records ({folder}/)"] = root / folder
    docs = (docs_dir or root / "docs").resolve()
    folders[f"the hand-written pages ({docs.name}/)"] = docs
    return folders


def check_output(path: Path, root: Path, option: str, *, docs_dir: Path | None = None, is_file: bool = False,
                 layout: Layout = Layout()) -> Path:
    """Raise UsageError when writing `path` could replace or add to an input (see the module). Returns it resolved."""
    target = Path(path).expanduser().resolve()
    folder = target.parent if is_file else target
    for what, protected in protected_folders(root, docs_dir, layout).items():
        if not is_file and _inside(protected, target):
            verb = "is" if protected == target else "contains"
            raise UsageError(f"{option} {path}: this folder {verb} {what} ({protected}), which the output would "
                             f"replace; nothing was written. Choose a folder of its own, such as a new subfolder")
        if what != "the knowledge base" and _inside(folder, protected):
            raise UsageError(f"{option} {path}: inside {what} ({protected}), which is read as input; nothing was "
                             f"written. Choose a place outside it")
    return target
