"""The Markdown fixes for accessibility (a11y.py): every task-list checkbox gets its item's words as its name."""

from __future__ import annotations

import markdown
import pytest

from incidentkb.site import a11y

LIST = "- [ ] Page the `on-call` engineer and [the lead](lead.md)\n- [x] Open the channel\n    - [ ] nested step\n"


def convert(text: str, **tasklist) -> str:
    md = markdown.Markdown(extensions=["pymdownx.tasklist", a11y.EXTENSION],
                           extension_configs={"pymdownx.tasklist": tasklist})
    return md.convert(text)


def test_custom_checkboxes_are_labelled_by_their_words():
    html = convert(LIST, custom_checkbox=True)
    assert ('<label class="task-list-control"><input type="checkbox" disabled/><span class="task-list-indicator">'
            '</span> Page the <code>on-call</code> engineer and <a href="lead.md">the lead</a></label></li>') in html
    # A nested list stays outside the label of its parent item (a label holds only phrasing content).
    assert 'Open the channel</label><ul class="task-list">' in html
    assert html.count("</label>") == 3 and "</label> " not in html


def test_bare_checkboxes_get_a_label():
    html = convert(LIST)
    assert '<li class="task-list-item"><label><input type="checkbox" disabled/> Page the' in html
    assert "task-list-control" not in html  # Material hides the input of a task-list-control: none is made here


def test_loose_lists_keep_the_second_paragraph_outside():
    html = convert("- [ ] First *step*\n\n- [ ] Second step\n\n    More about it.\n", custom_checkbox=True)
    assert "First <em>step</em></label></p>" in html
    assert "Second step</label></p>\n<p>More about it.</p>" in html


def test_pages_without_task_lists_are_unchanged():
    text = "<p>no <label>task</label> here</p>"
    assert a11y.label_task_items(text) is text


@pytest.mark.parametrize("extensions, wanted", [
    (["admonition", "pymdownx.tasklist"], True),
    ([{"pymdownx.tasklist": {"custom_checkbox": True}}], True),
    (["pymdownx.tasklist", "incidentkb.a11y"], False),
    (["admonition"], False),
])
def test_the_plugin_adds_the_extension_only_for_task_lists(extensions, wanted):
    assert a11y.wanted(extensions) is wanted
