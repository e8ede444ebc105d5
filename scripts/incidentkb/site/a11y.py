"""Accessibility fixes to the HTML of Python-Markdown that a stylesheet cannot make.

Task lists (pymdownx.tasklist, used by the policy checklists) put each item's checkbox in an
empty label, or in none, with the item's words after it:

    <li class="task-list-item"><label class="task-list-control"><input type="checkbox" disabled/>
    <span class="task-list-indicator"></span></label> Page the on-call engineer</li>

A screen reader then announces "checkbox, not checked" with no name (axe-core: "label", critical).
TaskLabels moves the item's words into the label, up to the first block element: a nested list
stays outside, since a label may hold only phrasing content. It works on the finished HTML, as
the checkboxes are raw HTML to Python-Markdown until its last steps.

The plugin adds this extension by itself when the site's Markdown uses pymdownx.tasklist; a site
built without the plugin (`kb generate`) can list `incidentkb.a11y` under `markdown_extensions`.
"""

from __future__ import annotations

import re

from markdown.extensions import Extension
from markdown.postprocessors import Postprocessor

EXTENSION = "incidentkb.a11y"

# An item's words run from its checkbox to the end of the item or of its paragraph, or to a block
# element (a nested list): a label may hold only phrasing content.
_WORDS = r"(.*?)(?=</li>|</p>|<(?:ul|ol|p|div|pre|table|blockquote|dl|figure|details)\b)"
_IN_EMPTY_LABEL = re.compile(r'(<li class="task-list-item">(?:\s*<p>)?<label class="task-list-control">'
                             r'<input type="checkbox"[^>]*>(?:<span class="task-list-indicator"></span>)?)</label>'
                             + _WORDS, re.DOTALL)
_BARE = re.compile(r'(<li class="task-list-item">(?:\s*<p>)?)(<input type="checkbox"[^>]*>)' + _WORDS, re.DOTALL)


def label_task_items(html: str) -> str:
    """The words of each task-list item moved into the label of its checkbox (one made if there is none)."""
    if "task-list-item" not in html:
        return html
    html = _IN_EMPTY_LABEL.sub(r"\1\2</label>", html)
    return _BARE.sub(r"\1<label>\2\3</label>", html)  # no class: Material hides the input of a task-list-control


class TaskLabels(Postprocessor):
    def run(self, text: str) -> str:
        return label_task_items(text)


class A11yExtension(Extension):
    def extendMarkdown(self, md) -> None:
        # pymdownx.tasklist writes its checkboxes as raw HTML, put back by the "raw_html" postprocessor (30).
        md.postprocessors.register(TaskLabels(md), "incidentkb-task-labels", 25)


def makeExtension(**kwargs) -> A11yExtension:
    return A11yExtension(**kwargs)


def wanted(markdown_extensions: list) -> bool:
    """Whether a site's Markdown needs the extension: it uses task lists and does not list it yet."""
    names = [next(iter(e)) if isinstance(e, dict) else str(e) for e in markdown_extensions]
    return "pymdownx.tasklist" in names and EXTENSION not in names
