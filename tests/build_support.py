"""`mkdocs build` run in this process, as its command line runs it (load_config, on_startup, build).

In-process so that dozens of knowledge bases build in seconds rather than minutes: starting
Python, MkDocs and Material costs more than building a tiny site. What the command line adds
around it is turning MkDocs' own errors (Abort, ConfigurationError: exit 1) into a message;
anything else escaping `build()` is what a user would see as a traceback.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from incidentkb.publish.engine import config_file


@dataclass
class Built:
    code: int  # what `mkdocs build` would exit with (1: MkDocs reported the error)
    messages: list[tuple[str, str]] = field(default_factory=list)  # (level, message) logged by MkDocs and plugins
    crash: BaseException | None = None  # an exception that would have been a traceback

    def text(self, level: str | None = None) -> str:
        return "\n".join(m for lv, m in self.messages if level is None or lv == level)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[tuple[str, str]] = []

    def emit(self, record):
        self.messages.append((record.levelname, record.getMessage()))


@contextmanager
def _environment(values: dict[str, str]):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def mkdocs_build_here(root: Path, site_dir: Path, strict: bool = False, today: str | None = None,
                      search: bool = False) -> Built:
    """Build `root` (its mkdocs.yml, or the default `kb build` writes) like `mkdocs build [--strict]`."""
    from mkdocs.commands import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    env = {"KB_WORKERS": "1", "NO_MKDOCS_2_WARNING": "1", "KB_SEARCH": "1" if search else "0"}
    if today:
        env["KB_TODAY"] = today
    collect = _Collect()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(collect)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        with _environment(env), config_file(root) as config:
            try:
                cfg = load_config(config_file=str(config), site_dir=str(site_dir), strict=strict)
                cfg.plugins.on_startup(command="build", dirty=False)
                try:
                    build.build(cfg)
                finally:
                    cfg.plugins.on_shutdown()
            except MkDocsException:  # Abort, ConfigurationError, PluginError: a message and exit 1
                return Built(1, collect.messages)
            except Exception as error:  # noqa: BLE001 - this is what the test looks for
                return Built(1, collect.messages, error)
        return Built(0, collect.messages)
    finally:
        logger.removeHandler(collect)
        logger.setLevel(previous_level)
