"""The formula parser (grammar, precedence, implicit products, limits, error positions) and the
equivalence check behind symbolic answers."""

from __future__ import annotations

import time

import pytest
import sympy as sp
from flint import arb
from hypothesis import given
from hypothesis import strategies as st

from grader import SymbolicAnswer, spec_from_json
from grader.answers import register_kind
from grader.equivalence import (
    EquivalenceRequest,
    Verdict,
    check_equivalent,
    compile_expr,
    decide,
    evaluate,
    normalize_domains,
    precision,
)
from grader.errors import SpecError
from grader.expr import ExprLimits, Grammar, parse_expression
from grader.parse import ParseFailure, ParseSuccess
from grader.result import Status
from grader.symbolic_answer import _grade_text

NAMES = ("x0", "x1", "h0", "h1", "h2", "y1", "t1", "z1", "w_xh", "w_hh", "w_hy", "keep0")
G = Grammar(NAMES)
S = {n: sp.Symbol(n, real=True) for n in NAMES}
x0, h1, z1 = S["x0"], S["h1"], S["z1"]
DOMAINS = normalize_domains({"h0": (0, 1), "h1": (0, 1), "h2": (0, 1), "keep0": (0, 1)}, NAMES)


def value(text: str, grammar: Grammar = G) -> sp.Expr:
    parsed = grammar.parse(text)
    assert isinstance(parsed, ParseSuccess), parsed
    return parsed.value


def failure(text: str, grammar: Grammar = G) -> ParseFailure:
    parsed = grammar.parse(text)
    assert isinstance(parsed, ParseFailure), f"{text!r} parsed as {parsed}"
    assert parsed.message
    return parsed


def same(a: sp.Expr, b: sp.Expr) -> bool:
    return sp.simplify(a - b) == 0


# -- grammar -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", sp.Integer(12)),
        ("0.5", sp.Rational(1, 2)),
        (".5", sp.Rational(1, 2)),
        ("5.", sp.Integer(5)),
        ("7.53e-2", sp.Rational(753, 10000)),
        ("1E3", sp.Integer(1000)),
        ("2e+1", sp.Integer(20)),
        ("0.0753", sp.Rational(753, 10000)),
        ("000", sp.Integer(0)),
    ],
)
def test_numbers_are_exact(text: str, expected: sp.Expr) -> None:
    got = value(text)
    assert got == expected and isinstance(got, sp.Rational)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1+2*3", 7),
        ("(1+2)*3", 9),
        ("2^3^2", 512),  # right-associative
        ("2**3**2", 512),
        ("-2^2", -4),  # the sign applies to the power
        ("2^-1", sp.Rational(1, 2)),
        ("2^-1^2", sp.Rational(1, 2)),  # 2^(-(1^2))
        ("8/4/2", 1),  # left-associative
        ("8-4-2", 2),
        ("2*-3", -6),
        ("--3", 3),
        ("+3", 3),
        ("2(3)", 6),
        ("(2)(3)", 6),
        (" 1 +\t2\n", 3),
    ],
)
def test_precedence_and_associativity(text: str, expected: object) -> None:
    assert sp.nsimplify(value(text).doit()) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("h1*(1-h1)", h1 * (1 - h1)),
        ("-x0^2", -(x0**2)),
        ("x0^-1", 1 / x0),
        ("2x0", 2 * x0),
        ("2 x0", 2 * x0),
        ("2(x0+1)", 2 * (x0 + 1)),
        ("(1-h1)h1", (1 - h1) * h1),
        ("(x0)(h1)", x0 * h1),
        ("2sigma(z1)", 2 / (1 + sp.exp(-z1))),
        ("sigma(z1)(1-sigma(z1))", sp.exp(-z1) / (1 + sp.exp(-z1)) ** 2),
        ("logistic(z1)", 1 / (1 + sp.exp(-z1))),
        ("tanh(x0)", sp.tanh(x0)),
        ("exp(x0)", sp.exp(x0)),
        ("log(h1)", sp.log(h1)),
        ("sqrt(h1)", sp.sqrt(h1)),
        ("x0/2*h1", x0 * h1 / 2),
        ("w_xh*keep0", S["w_xh"] * S["keep0"]),
        ("2−x0", 2 - x0),  # a typographic minus sign
        ("2×x0·h1", 2 * x0 * h1),
    ],
)
def test_formulas(text: str, expected: sp.Expr) -> None:
    assert same(value(text), expected)


def test_tree_is_built_unevaluated() -> None:
    # Nothing is folded while parsing: the exponent stays a small unevaluated power.
    got = value("2^(3^4)")
    assert isinstance(got, sp.Pow) and isinstance(got.exp, sp.Pow)


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("x0+)", 3, "unexpected ')'"),
        (")", 0, "unexpected ')'"),
        ("x0*(h1+1", 3, "missing ')'"),
        ("x0 +", 4, "end of the answer"),
        ("foo+1", 0, "unknown name 'foo'"),
        ("x0+foo", 3, "you may use x0, x1"),
        ("X0", 0, "case-sensitive"),
        ("x0h1", 0, "x0*h1"),
        ("x0 h1", 3, "missing operator"),
        ("(x0)2", 4, "missing operator"),
        ("x0 2", 3, "missing operator"),
        ("h1(1-h1)", 0, "not a function"),
        ("1/2x0", 3, "ambiguous"),
        ("1/(2)(x0)", 5, "ambiguous"),
        ("x0^2(1-x0)", 4, "ambiguous"),
        ("-x0^2(1-x0)", 5, "ambiguous"),
        ("sigma x0", 0, "parentheses"),
        ("sigma", 0, "parentheses"),
        ("x0 ** * 2", 6, "unexpected '*'"),
        ("1.2.3", 0, "malformed number"),
        ("x0.h1", 2, "unexpected character '.'"),
        ("x0 , h1", 3, "unexpected character ','"),
        ("[x0]", 0, "round parentheses"),
        ("1/0", 1, "division by zero"),
        ("x0/(2-2)", 2, "division by zero"),
        ("0^-1", 1, "division by zero"),
        ("log(0)", 0, "log(0)"),
        ("sqrt(-4)", 0, "undefined"),
        ("(-8)^(1/3)", 4, "undefined"),
        ("9**9**9**9", 4, "exponent"),
        ("x0^(2^7)", 2, "exponent"),
        ("(1e300)^100", 7, "too large"),
        ("1e300*1e300", 5, "too large"),
        ("exp(1000)", 0, "too large"),
        ("1e999999", 0, "too large or too small"),
        ("1e-400", 0, "too large or too small"),
        ("x0 + ２", 5, "FULLWIDTH DIGIT TWO"),
        ("х0", 0, "CYRILLIC SMALL LETTER HA"),
        ("x0\u200b", 2, "U+200B"),
        ("log(x0)", 0, "not allowed"),
    ],
)
def test_errors_point_at_the_offending_character(text: str, position: int, words: str) -> None:
    grammar = G if text != "log(x0)" else Grammar(NAMES, functions=("exp",))
    got = failure(text, grammar)
    assert got.position == position, got
    assert words in got.message
    assert f"position {position + 1}" in got.message  # messages count from 1


def test_empty_answer() -> None:
    assert "empty" in failure("   ").message


def test_unknown_name_lists_what_may_be_used() -> None:
    message = failure("foo", Grammar(("a", "b"), functions=("exp",))).message
    assert message.endswith("you may use a, b and the functions exp")


def test_limits_are_configurable() -> None:
    small = Grammar(("x",), limits=ExprLimits(max_chars=10, max_depth=3, max_tokens=5))
    assert "too long" in failure("x+x+x+x+x+x", small).message
    assert "too many" in failure("x+x+x+x", small).message
    deep = Grammar(("x",), limits=ExprLimits(max_depth=3))
    assert isinstance(deep.parse("(((x)))"), ParseSuccess)
    assert "nested too deeply" in failure("((((x))))", deep).message
    assert isinstance(parse_expression("x^3", ("x",), limits=ExprLimits(max_power=3)), ParseSuccess)
    assert "exponent" in parse_expression("x^4", ("x",), limits=ExprLimits(max_power=3)).message  # type: ignore[union-attr]


def test_depth_limit_counts_signs_and_powers() -> None:
    assert isinstance(G.parse("-" * 50 + "x0"), ParseSuccess)
    assert "nested too deeply" in failure("-" * 51 + "x0").message
    assert "nested too deeply" in failure("x0^" * 51 + "2").message
    assert "nested too deeply" in failure("(" * 51 + "x0" + ")" * 51).message


@pytest.mark.parametrize(
    "bad",
    [
        {"names": ("x0", "x0")},
        {"names": ("2x",)},
        {"names": ("exp",)},
        {"names": ("x-y",)},
        {"names": ("x",), "functions": ("cos",)},
    ],
)
def test_author_mistakes_raise_spec_errors(bad: dict) -> None:
    with pytest.raises(SpecError):
        Grammar(**bad)


def test_limits_validation() -> None:
    with pytest.raises(SpecError, match="max_chars"):
        ExprLimits(max_chars=0)
    with pytest.raises(SpecError, match="max_depth"):
        ExprLimits(max_depth=10_000)  # would reach Python's recursion limit
    with pytest.raises(SpecError, match="max_power"):
        ExprLimits(max_power=float("inf"))


# -- equivalence ---------------------------------------------------------------------------------


def verdict(reference: str, response: str) -> Verdict:
    return decide(EquivalenceRequest(reference, response, G, DOMAINS)).verdict


@pytest.mark.parametrize(
    ("reference", "response"),
    [
        ("h1*(1-h1)", "h1 - h1^2"),
        ("h1*(1-h1)", "-(h1^2 - h1)"),
        ("sigma(z1)*(1-sigma(z1))", "exp(-z1)/(1+exp(-z1))^2"),
        ("sigma(z1)*(1-sigma(z1))", "sigma(z1) - sigma(z1)^2"),
        ("sigma(z1)", "1/(1+1/exp(z1))"),
        ("tanh(x0)", "(exp(2x0)-1)/(exp(2x0)+1)"),
        ("1 - tanh(x0)^2", "4/(exp(x0)+exp(-x0))^2"),
        ("log(h1*h2)", "log(h1) + log(h2)"),
        ("sqrt(h1)*sqrt(h2)", "sqrt(h1*h2)"),
        ("exp(x0+x1)", "exp(x0)*exp(x1)"),
        ("(y1-t1)*w_hy*h1*(1-h1)", "w_hy*(h1-h1**2)*y1 - t1*w_hy*h1*(1-h1)"),
        (
            "h0*(1-h0)*(w_hy*(y1-t1) + w_hh*h1*(1-h1)*w_hy*(y1-t1))",
            "w_hy*(y1-t1)*(h0-h0^2)*(1 + w_hh*(h1-h1^2))",
        ),
        ("keep0*x0", "x0 keep0".replace(" ", "*")),
        ("0", "h1*(1-h1) - (h1-h1^2)"),
        ("0.5*x0", "x0/2"),
        ("7.53e-2", "753/10000"),
    ],
)
def test_differently_written_equal_formulas_are_equivalent(reference: str, response: str) -> None:
    assert verdict(reference, response) is Verdict.EQUIVALENT


@pytest.mark.parametrize(
    ("reference", "response"),
    [
        ("h1*(1-h1)", "h1*(1+h1)"),
        ("h1*(1-h1)", "h1 - h1^3"),
        ("sigma(z1)*(1-sigma(z1))", "sigma(z1)"),
        ("(y1-t1)*w_hy*h1*(1-h1)", "(y1-t1)*w_hy"),  # the activation derivative dropped
        ("(y1-t1)*w_hy", "(t1-y1)*w_hy"),  # a sign error
        ("x0", "x0 + 1e-20"),  # close, but not the same formula
        ("tanh(x0)", "sigma(x0)"),
    ],
)
def test_formulas_that_differ_at_random_points_are_different(reference: str, response: str) -> None:
    result = decide(EquivalenceRequest(reference, response, G, DOMAINS))
    assert result.verdict is Verdict.DIFFERENT
    assert result.point  # a point where they differ, for the feedback


def test_cancellation_prone_pairs_are_decided_correctly() -> None:
    # ((1+x)^2 - 1)/x = x + 2 exactly; at x ~ 1e-11 plain floats lose ~11 digits to cancellation,
    # so a float check cannot tell it from x + 2 + x^2, which differs by ~1e-22.
    grammar = Grammar(("x",))
    tiny = normalize_domains({"x": (1e-12, 1e-11)}, ("x",))
    left = "((1+x)^2 - 1)/x"

    def check(response: str) -> Verdict:
        return decide(EquivalenceRequest(left, response, grammar, tiny)).verdict

    assert check("x + 2") is Verdict.EQUIVALENT
    assert check("x + 2 + x^2") is Verdict.DIFFERENT
    xf = 5e-12
    assert abs(((1 + xf) ** 2 - 1) / xf - (xf + 2)) > 1e-8  # floats: wrong in the 8th digit
    # Large terms cancelling: (x0 + 1e20) - 1e20 is x0, decided numerically at 50 digits.
    assert verdict("x0", "(x0 + 1e20) - 1e20") is Verdict.EQUIVALENT
    assert verdict("x0", "(x0 + 1e20) - 1e20 + 1e-10") is Verdict.DIFFERENT


def test_beyond_the_precision_the_bounded_symbolic_check_decides() -> None:
    # 1e60 swamps 50 digits: every point is "cannot tell", then simplify proves it.
    result = check_equivalent(EquivalenceRequest("x0", "(x0 + 1e60) - 1e60", G, DOMAINS))
    assert (result.verdict, result.method) == (Verdict.EQUIVALENT, "symbolic")


@pytest.mark.parametrize("response", ["log(-1-x0^2)", "sqrt(-1-h1)"])
def test_formulas_undefined_everywhere_are_undecided(response: str) -> None:
    result = check_equivalent(EquivalenceRequest("x0", response, G, DOMAINS))
    assert result.verdict is Verdict.UNDECIDED
    assert "undefined" in result.reason


def test_points_where_one_side_is_undefined_are_skipped() -> None:
    # sqrt(h1)^2 is h1 wherever it is defined (h1 in (0, 1) here, and x0 < 0 gives no value).
    assert verdict("h1", "sqrt(h1)^2") is Verdict.EQUIVALENT
    assert verdict("x0", "sqrt(x0)^2") is Verdict.EQUIVALENT


def test_evaluator_carries_an_error_bound() -> None:
    program = compile_expr(value("(x0 + 1e20) - 1e20"))
    with precision(50):
        v = evaluate(program, {"x0": arb(0.5)})
    assert v is not None and v.contains(arb(0.5)) and v.rad() < arb("1e-25")


def test_decisions_are_deterministic() -> None:
    request = EquivalenceRequest("h1*(1-h1)", "h1*(1+h1)", G, DOMAINS)
    assert decide(request) == decide(request) == check_equivalent(request)


# -- the answer kind -----------------------------------------------------------------------------

SPEC = SymbolicAnswer("(y1-t1)*w_hy*h1*(1-h1)", NAMES, {"h1": (0, 1), "h0": (0, 1)})


def test_correct_just_wrong_and_invalid() -> None:
    right = SPEC.grade("w_hy*(y1 - t1)*(h1 - h1^2)")
    assert (right.score, right.status, right.feedback) == (1.0, Status.CORRECT, "Correct.")
    wrong = SPEC.grade("(y1-t1)*w_hy*h1*(1-h1)*1.001")
    assert (wrong.score, wrong.status) == (0.0, Status.INCORRECT)
    assert "not equivalent" in wrong.feedback and "differ at" in wrong.feedback
    bad = SPEC.grade("(y1-t1)*w_hy*h1(1-h1)")
    assert (bad.score, bad.status) == (0.0, Status.INVALID)
    assert "position" in bad.feedback


def test_near_miss_is_just_wrong() -> None:
    assert SPEC.grade(SPEC.near_miss()).status is Status.INCORRECT


def test_positions_count_what_the_student_typed() -> None:
    assert SPEC.grade("  x0+)  ").feedback.startswith("unexpected ')' at position 6")


def test_could_not_decide_is_an_honest_invalid_result() -> None:
    result = SPEC.grade("log(-1-x0^2)")
    assert result.status is Status.INVALID
    assert result.feedback.startswith("could not check your formula")


@pytest.mark.parametrize("raw", [None, True, [1, 2], {"a": 1}, float("nan"), float("inf")])
def test_non_text_responses_are_invalid(raw: object) -> None:
    assert SPEC.grade(raw).status is Status.INVALID


def test_numbers_are_read_as_constant_formulas() -> None:
    spec = SymbolicAnswer("1/2", ("x0",))
    assert spec.grade(0.5).status is Status.CORRECT
    assert spec.grade(2).status is Status.INCORRECT


def test_json_round_trip() -> None:
    data = SPEC.to_json()
    assert data["kind"] == "symbolic" and data["names"] == list(NAMES)
    assert data["domains"]["h1"] == [0.0, 1.0] and data["domains"]["x0"] == [-2.0, 2.0]
    again = spec_from_json(data)
    assert again == SPEC and hash(again) == hash(SPEC)


def test_bad_specs_raise() -> None:
    with pytest.raises(SpecError, match="does not parse"):
        SymbolicAnswer("h1*(", ("h1",))
    with pytest.raises(SpecError, match="unknown name"):
        SymbolicAnswer("h2", ("h1",))
    with pytest.raises(SpecError, match="domains"):
        SymbolicAnswer("h1", ("h1",), {"h1": (1, 0)})
    with pytest.raises(SpecError, match="domains must map"):
        SymbolicAnswer("h1", ("h1",), {"h1": 5})
    with pytest.raises(SpecError, match="not one of the names"):
        SymbolicAnswer("h1", ("h1",), {"h9": (0, 1)})
    with pytest.raises(SpecError, match="needs 'names'"):
        spec_from_json({"kind": "symbolic", "value": "h1"})
    with pytest.raises(SpecError, match="already registered"):

        class Other(SymbolicAnswer):
            pass

        register_kind(Other)


def test_long_references_scale_the_limits() -> None:
    long = " + ".join(f"w_hh^{k}*h1" for k in range(1, 60))
    spec = SymbolicAnswer(long, ("w_hh", "h1"))
    assert len(long) > 500
    assert spec.grade(long).status is Status.CORRECT


def test_identical_responses_come_from_the_cache() -> None:
    SPEC.grade("h1*(1-h1)*w_hy*(y1-t1)  \n")  # trailing blanks share the cache entry
    before = _grade_text.cache_info().hits
    started = time.perf_counter()
    for _ in range(100):
        assert SPEC.grade("h1*(1-h1)*w_hy*(y1-t1)").status is Status.CORRECT
    assert _grade_text.cache_info().hits - before == 100
    assert time.perf_counter() - started < 0.5


# -- properties ----------------------------------------------------------------------------------

BUDGET = 0.5  # seconds for one parse; parsing is linear and bounded by the limits
SOUP = st.lists(
    st.sampled_from(
        ["x0", "h1", "(", ")", "+", "-", "*", "/", "^", "**", "2", "0.5", "1e3", "9", "sigma",
         "exp", "log", "sqrt", "tanh", " ", "e", ".", "1e-300", "0"]
    ),
    max_size=60,
).map("".join)  # fmt: skip


@given(st.text())
def test_any_text_gives_a_result_never_an_exception(text: str) -> None:
    started = time.perf_counter()
    result = G.parse(text)
    assert isinstance(result, ParseSuccess | ParseFailure)
    if isinstance(result, ParseFailure):
        assert result.message
    assert time.perf_counter() - started < BUDGET


@given(SOUP)
def test_token_soup_parses_or_fails_and_evaluates_within_bounds(text: str) -> None:
    started = time.perf_counter()
    result = G.parse(text)
    assert isinstance(result, ParseSuccess | ParseFailure)
    if isinstance(result, ParseSuccess):
        program = compile_expr(result.value)
        with precision(50):
            got = evaluate(program, {"x0": arb(0.3), "h1": arb(0.7)})
        assert got is None or isinstance(got, arb)
        # What SymPy prints reads back as the same formula (the parser speaks SymPy's syntax).
        again = Grammar(NAMES, limits=ExprLimits().scaled_to(str(result.value))).parse(
            str(result.value)
        )
        if isinstance(again, ParseSuccess):
            with precision(50):
                back = evaluate(compile_expr(again.value), {"x0": arb(0.3), "h1": arb(0.7)})
            if got is not None and back is not None:
                assert abs(got.mid() - back.mid()) <= 1e-20 * max(1, abs(float(got.mid())))
    assert time.perf_counter() - started < BUDGET


def test_indexed_names_may_be_typed_as_the_stem_prints_them() -> None:
    from grader.expr import Grammar

    g = Grammar(("h1", "w_hh"))
    a, b = g.parse("h_1*(1-h_1)*w_hh"), g.parse("h1*(1-h1)*w_hh")
    assert a.value == b.value
    assert "unknown name" in g.parse("h_2").message
