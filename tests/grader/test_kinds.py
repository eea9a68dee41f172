"""Every registered answer kind owns its behaviour: a walk over the registry holds each one to the
same bar (its own methods, examples that grade right and wrong, a JSON round trip, prompts, and
a student-page input whose submitted form grades like the typed answer)."""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser
from typing import Any

import pytest

from grader import Status, Tolerance, grade_parts
from grader.answers import (
    KIND_METHODS,
    AnswerSpec,
    BitStringAnswer,
    ChoiceAnswer,
    IntSequenceAnswer,
    MultiSelectAnswer,
    NumericAnswer,
    VectorAnswer,
    kinds,
    register_kind,
    spec_from_json,
)
from grader.errors import SpecError
from grader.symbolic_answer import SymbolicAnswer

# One or more specs of every kind; options with characters HTML must escape.
EXAMPLES: dict[str, list[AnswerSpec]] = {
    "numeric": [
        NumericAnswer(0.5, Tolerance.decimals(3), also=(0.49,)),
        NumericAnswer(-1.25, Tolerance.decimals(4), min_decimals=4),
    ],
    "vector": [
        VectorAnswer([0.1, 0.9], Tolerance.sigfigs(2)),
        VectorAnswer([[0.6, 0.0], [0.25, -0.5]], Tolerance.decimals(3)),
    ],
    "choice": [ChoiceAnswer("> 16", ("<= 16", "> 16", 'a "q" & b'))],
    "multiselect": [
        MultiSelectAnswer(("a&b", "<c>"), ("a&b", "<c>", "d")),
        MultiSelectAnswer((), ("a", "b")),
    ],
    "int_sequence": [IntSequenceAnswer((1, 0, 2))],
    "bits": [BitStringAnswer("0110")],
    "symbolic": [SymbolicAnswer("h1*(1-h1)*w", ("h1", "w"))],
}
ALL = [(k, s) for k, specs in EXAMPLES.items() for s in specs]
IDS = [f"{k}-{i}" for k, specs in EXAMPLES.items() for i in range(len(specs))]
LABEL = 'h_{2} <b>"x"</b> & y'


def test_every_registered_kind_has_examples_here() -> None:
    assert set(kinds()) == set(EXAMPLES)


@pytest.mark.parametrize("kind", sorted(kinds()))
def test_every_registered_kind_implements_every_kind_method(kind: str) -> None:
    cls = kinds()[kind]
    for name in KIND_METHODS:
        owners = [k for k in cls.__mro__ if name in vars(k)]
        assert owners and owners[0] is not AnswerSpec, f"{cls.__name__} does not define {name}"


def test_a_kind_that_forgets_a_method_is_caught_by_the_walk() -> None:
    class Forgetful(AnswerSpec):
        kind = "forgetful"

        def grade(self, raw: Any) -> Any:
            return None

    owner = {m: next(k for k in Forgetful.__mro__ if m in vars(k)) for m in KIND_METHODS}
    missing = [m for m in KIND_METHODS if owner[m] is AnswerSpec]
    assert missing == ["to_json", "from_json", "correct_response", "near_miss"]


def test_a_kind_name_is_registered_once() -> None:
    class Numeric2(NumericAnswer):
        pass

    with pytest.raises(SpecError, match="already registered"):
        register_kind(Numeric2)


@pytest.mark.parametrize(("kind", "spec"), ALL, ids=IDS)
def test_examples_json_and_prompts(kind: str, spec: AnswerSpec) -> None:
    assert spec.kind == kind
    assert spec.grade(spec.correct_response()).score == 1.0
    miss = spec.grade(spec.near_miss())
    assert miss.score < 1.0 and miss.status is not Status.INVALID
    again = spec_from_json(spec.to_json())
    assert type(again) is type(spec) and again.to_json() == spec.to_json()
    assert again.grade(spec.correct_response()).score == 1.0
    assert "h_{9}" in spec.stem_prompt("h_{9}") and "h_{9}" in spec.prompt("h_{9}")


def test_prompts_keep_their_wording() -> None:
    n = NumericAnswer(0.5, Tolerance.decimals(3), min_decimals=3)
    assert n.stem_prompt("y") == (
        f"$y = ?$ — {n.tolerance.describe()}, with at least 3 digits after the decimal point"
    )
    m = VectorAnswer([[1.0, 2.0], [3.0, 4.0]], Tolerance.decimals(2))
    assert m.prompt("A") == f"$A = ?$ — a 2×2 matrix, each {m.tolerance.describe()}"
    assert m.stem_prompt("A") == f"$A = ?$ — a list, each entry {m.tolerance.describe()}"
    assert EXAMPLES["multiselect"][0].prompt("Which?") == (
        "Which? (select all that apply, or only “none of these”)"
    )
    assert EXAMPLES["choice"][0].stem_prompt("Which?") == "Which?"
    assert EXAMPLES["bits"][0].stem_prompt("b") == "$b = ?$"
    assert "`h1`, `w`" in EXAMPLES["symbolic"][0].stem_prompt("f")


def test_overrides_apply_to_tolerant_kinds_only() -> None:
    n = NumericAnswer(0.5, Tolerance.decimals(3), min_decimals=3)
    wide = n.override({"decimals": 1}, "tolerance.y")
    assert isinstance(wide, NumericAnswer) and wide.grade("0.530").score == 1.0
    assert wide.min_decimals == 3
    assert n.override({"min_decimals": 1}, "tolerance.y").min_decimals == 1
    v = VectorAnswer([0.1, 0.9], Tolerance.decimals(3))
    assert v.override({"decimals": 1}, "tolerance.v").grade([0.13, 0.88]).score == 1.0
    c = EXAMPLES["choice"][0]
    assert c.override({"decimals": 1}, "tolerance.c") is c
    with pytest.raises(SpecError, match=r"tolerance\.y"):
        n.override({"decimals": "x"}, "tolerance.y")


# -- the student page's inputs ----------------------------------------------------------------


class _Form(HTMLParser):
    """What a browser submits for one form, and the labels it shows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[dict[str, str | None]] = []
        self.label_for: list[str] = []
        self.label_depth = 0
        self.wrapped: list[bool] = []
        self.textarea: dict[str, str | None] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.label_for.append(a["for"] or "")
        elif tag in ("input", "textarea"):
            a["_tag"] = tag
            self.fields.append(a)
            self.wrapped.append(self.label_depth > 0)
            if tag == "textarea":
                a["value"] = ""
                self.textarea = a

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.textarea is not None:
            self.textarea["value"] = (self.textarea["value"] or "") + data

    def submitted(self, name: str) -> list[str]:
        out = []
        for f in self.fields:
            if f.get("name") != name:
                continue
            if f.get("type") in ("radio", "checkbox"):
                if "checked" in f:
                    out.append(f.get("value") or "")
            else:
                out.append(f.get("value") or "")
        return out


def _form(html: str) -> _Form:
    form = _Form()
    form.feed(html)
    form.close()
    return form


def _typed(value: Any) -> str:
    """A response as a student types it into one box."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return "\n".join(", ".join(repr(x) for x in row) for row in value)
    if isinstance(value, list):
        return ", ".join(str(x) for x in value) if value else "none"
    return str(value)


@pytest.mark.parametrize(("kind", "spec"), ALL, ids=IDS)
def test_html_input_names_labels_and_escapes(kind: str, spec: AnswerSpec) -> None:
    html = spec.html_input("p_1", LABEL)
    assert "<b>" not in html and '"x"' not in html  # the label is text, not markup
    form = _form(html)
    assert LABEL in "".join(form.text)
    assert form.fields and all(f.get("name") == "p_1" for f in form.fields)
    for f, wrapped in zip(form.fields, form.wrapped, strict=True):
        assert wrapped or f.get("id") in form.label_for, f"{kind}: an input without a label"
    options = getattr(spec, "options", ())
    if options:
        values = [f.get("value") for f in form.fields]
        assert values[: len(options)] == list(options)  # the ids, unescaped by the parser
        for o in options:
            assert o in "".join(form.text)


@pytest.mark.parametrize(("kind", "spec"), ALL, ids=IDS)
def test_html_input_round_trip_grades_the_right_answer(kind: str, spec: AnswerSpec) -> None:
    blank = _form(spec.html_input("p", LABEL))
    unanswered = grade_parts({"p": spec}, {"p": spec.form_value(blank.submitted("p"))})
    assert unanswered.parts["p"].status in (Status.MISSING, Status.INVALID)
    typed = _typed(spec.correct_response())
    filled = _form(spec.html_input("p", LABEL, typed))
    assert spec.grade(spec.form_value(filled.submitted("p"))).score == 1.0, typed
    miss = _form(spec.html_input("p", LABEL, _typed(spec.near_miss())))
    assert spec.grade(spec.form_value(miss.submitted("p"))).score < 1.0


def test_multiselect_form_has_an_explicit_none_box() -> None:
    spec = EXAMPLES["multiselect"][1]  # nothing qualifies
    form = _form(spec.html_input("m", "Which?"))
    none = [f for f in form.fields if f.get("type") == "checkbox" and f.get("value") == "none"]
    assert len(none) == 1
    assert spec.form_value([]) is None  # nothing ticked: a missing part, not "none"
    assert grade_parts({"m": spec}, {"m": spec.form_value([])}).parts["m"].status is Status.MISSING
    assert spec.grade(spec.form_value(["none"])).score == 1.0
    assert spec.grade(spec.form_value(["none", "a"])).status is Status.INVALID
    assert spec.grade(spec.form_value(["a"])).score == 0.0


def test_a_choice_form_marks_the_given_pick_whatever_its_case() -> None:
    spec = ChoiceAnswer("B", ("A", "B"))
    form = _form(spec.html_input("c", "Which?", "b"))
    assert form.submitted("c") == ["B"]
    assert spec.form_value([]) is None
    assert spec.grade(spec.form_value(["A", "B"])).status is Status.INVALID  # a tampered form


def test_a_matrix_renders_a_textarea() -> None:
    form = _form(EXAMPLES["vector"][1].html_input("A", "A"))
    assert [f["_tag"] for f in form.fields] == ["textarea"]
    assert [f["_tag"] for f in _form(EXAMPLES["vector"][0].html_input("v", "v")).fields] == [
        "input"
    ]


def test_the_kind_table_is_complete_whatever_was_imported_first() -> None:
    # `grader` loads its modules on first use; the kinds declared outside grader/answers.py
    # (`symbolic`) must be in the table even when nothing else imported their module.
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import json, sys\n"
        "from grader.answers import kinds\n"
        "assert 'grader.symbolic_answer' not in sys.modules\n"
        "print(json.dumps(sorted(kinds())))\n"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout)) == set(kinds()) and "symbolic" in kinds()


@pytest.mark.parametrize(("kind", "spec"), ALL, ids=IDS)
def test_every_kind_answers_preview_without_raising(kind: str, spec: AnswerSpec) -> None:
    typed = _typed(spec.correct_response())
    shown = spec.preview(typed)
    assert isinstance(shown, str)
    assert spec.preview(None) == "" and spec.preview("") == ""
    if kind != "symbolic":
        assert shown == ""  # the input itself shows such an answer plainly


def test_a_formula_preview_shows_how_the_parser_grouped_it() -> None:
    spec = SymbolicAnswer("a/b*c", ("a", "b", "c"))
    shown = spec.preview("a/(b*c)")
    assert shown.startswith("<math") and shown.endswith("</math>")
    # (b*c) is the denominator: one fraction whose denominator holds both names.
    denominator = "<mrow><mi>b</mi><mo>&InvisibleTimes;</mo><mi>c</mi></mrow>"
    assert f"<mfrac><mi>a</mi>{denominator}</mfrac>" in shown
    # a/b*c is (a/b)*c: c joins the numerator and b alone is the denominator.
    assert "<mi>c</mi></mrow><mi>b</mi></mfrac>" in spec.preview("a/b*c")


def test_a_formula_preview_of_unreadable_text_is_the_escaped_parse_error() -> None:
    spec = SymbolicAnswer("h1*(1-h1)*w", ("h1", "w"))
    shown = spec.preview("h1*(1-<script>")
    assert "<script>" not in shown and "&lt;" in shown
    assert shown.startswith('<span class="preview-error">')
    assert spec.grade("h1*(1-<script>").feedback in html.unescape(shown)
    unknown = spec.preview("__import__(os)")
    assert "preview-error" in unknown and "<math" not in unknown
    assert "preview-error" in spec.preview("h1" + "+h1" * 10_000)  # too long: refused, not parsed
