"""A variant keeps its stem body apart from the list of parts `make_variant` appends, so that
exporters lay out their own parts without cutting the stem apart."""

from __future__ import annotations

import dataclasses

import pytest

from generators import REGISTRY, Template, make_variant
from generators.core.variants import parts_list
from jobs.exports import common

TEMPLATES = list(REGISTRY)


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.id for t in TEMPLATES])
def test_stem_is_body_then_parts_and_exporters_take_the_body(template: Template) -> None:
    v = make_variant(template, 3)
    assert v.body and not v.body.endswith("\n")
    assert v.stem == v.body + "\n\n" + parts_list(template, v.parts)
    assert common.stem_body(v) == v.body
    # The public JSON is unchanged: the whole stem, no body.
    assert "body" not in v.to_json() and "body" not in v.to_json(with_answers=False)
    assert v.to_json()["stem"] == v.stem


def test_a_body_that_reads_like_a_parts_list_is_kept_whole() -> None:
    template = REGISTRY.get("rnn-forward")
    v = make_variant(template, 3)
    body = v.body + "\n\n(a) a case the text itself lists\n\n(b) and another"
    moved = dataclasses.replace(v, body=body, stem=body + "\n\n" + parts_list(template, v.parts))
    assert common.stem_body(moved) == body


def test_a_stem_only_variant_is_all_body() -> None:
    v = dataclasses.replace(make_variant(REGISTRY.get("rnn-forward"), 3), body="", stem="Compute.")
    assert common.stem_body(v) == "Compute."


def test_render_false_has_neither() -> None:
    v = make_variant(REGISTRY.get("rnn-forward"), 3, render=False)
    assert v.body == v.stem == ""
