"""The bounded YAML parser: marks, duplicate keys, timestamps kept as text, hostile documents."""

from __future__ import annotations

import time

import pytest

from incidentkb.core.yamlsafe import HAVE_LIBYAML, YAMLDocumentError, parse, position_of

BOTH = [pytest.param(False, id="libyaml" if HAVE_LIBYAML else "pure"), pytest.param(True, id="pure-python")]

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))


@pytest.mark.parametrize("pure", BOTH)
def test_marks_point_at_keys_and_items(pure):
    data = parse("title: x\nservices:\n  - a\n  - b\nroles:\n  commander: Ana\n", line_offset=1, pure=pure).data
    assert position_of(data, ("title",)) == (2, 1)
    assert position_of(data, ("services", 1)) == (5, 5)
    assert position_of(data, ("roles", "commander")) == (7, 3)
    assert position_of(data, ("roles", "missing")) == (6, 1)  # the nearest known parent: the roles key


@pytest.mark.parametrize("pure", BOTH)
def test_duplicate_keys_are_reported_not_silently_dropped(pure):
    parsed = parse("severity: SEV1\ntitle: x\nseverity: SEV2\n", pure=pure)
    assert [(d.key, d.line, d.first_line) for d in parsed.duplicates] == [("severity", 3, 1)]


@pytest.mark.parametrize("pure", BOTH)
def test_timestamps_stay_text(pure):
    data = parse("at: 2025-03-14T09:12:00\nday: 2025-03-14\n", pure=pure).data
    assert data == {"at": "2025-03-14T09:12:00", "day": "2025-03-14"}


@pytest.mark.parametrize("pure", BOTH)
def test_python_tags_are_refused(pure):
    with pytest.raises(YAMLDocumentError) as error:
        parse("x: !!python/object/apply:os.system ['echo hacked']\n", pure=pure)
    assert error.value.code == "yaml-tag" and error.value.line == 1


@pytest.mark.parametrize("pure", BOTH)
def test_alias_bomb_is_rejected_quickly(pure):
    start = time.perf_counter()
    with pytest.raises(YAMLDocumentError) as error:
        parse(BILLION_LAUGHS, pure=pure)
    assert error.value.code == "yaml-too-large"
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize("pure", BOTH)
def test_small_aliases_are_fine(pure):
    data = parse("base: &b {tier: 1}\nother: *b\n", pure=pure).data
    assert data["other"] == {"tier": 1}


@pytest.mark.parametrize("pure", BOTH)
def test_recursive_alias_is_rejected(pure):
    with pytest.raises(YAMLDocumentError) as error:
        parse("a: &a [1, *a]\n", pure=pure)
    assert error.value.code in ("yaml-recursive", "yaml-syntax")


@pytest.mark.parametrize("pure", BOTH)
def test_absurd_nesting_is_rejected(pure):
    with pytest.raises(YAMLDocumentError) as error:
        parse("a: " + "[" * 5000 + "]" * 5000 + "\n", pure=pure)
    assert error.value.code in ("yaml-syntax", "yaml-too-deep")
