"""Markdown links in pages people wrote: to records the audience cannot see, and from docs/ to records.

- A link to a record left out of this build (see audience.py) becomes its plain text,
  so a public page can mention a restricted incident without a broken link.
- A hand-written page in docs/ may link to a record by its path in the repository
  (`../incidents/2025/INC-2025-014-x.md`, which also works in a git host's preview);
  in the site the record lives beside docs/ content, so the link is rewritten.
"""

from __future__ import annotations

import posixpath
import re

_LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?((?:\s+(?:\"[^\"]*\"|'[^']*'))?)\s*\)")


def fix_links(markdown: str, page: str, hidden: frozenset[str] = frozenset(), docs_prefix: str | None = None,
              records: frozenset[str] = frozenset()) -> str:
    """Rewrite the Markdown links of `page` (a site path) as described above.

    `docs_prefix` is docs_dir relative to the knowledge-base root ("docs") for hand-written pages,
    None for generated ones; `records` holds the site paths of record pages.
    """
    if "](" not in markdown or not (hidden or docs_prefix is not None):
        return markdown
    base = posixpath.dirname(page)

    def replace(match: re.Match) -> str:
        bang, text, target, title = match.groups()
        path, hash_, fragment = target.partition("#")
        if not path or "://" in path or path.startswith(("mailto:", "/")):
            return match.group(0)
        resolved = posixpath.normpath(posixpath.join(base, path))
        if docs_prefix is not None and resolved.startswith("../"):
            # Relative to the file in the repository: docs/<page> → root-relative path.
            in_repo = posixpath.normpath(posixpath.join(docs_prefix, base, path))
            if in_repo in records or in_repo in hidden:
                resolved = in_repo
                target = posixpath.relpath(in_repo, base or ".") + hash_ + fragment
        if resolved in hidden:
            return "" if bang else text
        return f"{bang}[{text}]({target}{title})"

    return _LINK.sub(replace, markdown)
