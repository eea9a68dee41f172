"""Where things live in generators/: one home for each helper, plain module names."""

from __future__ import annotations

import ast
from pathlib import Path

from generators.core.params import fixed_ask

ROOT = Path(__file__).resolve().parents[2]
GENERATORS = sorted((ROOT / "generators").rglob("*.py"))


def _trees() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in GENERATORS]


def test_no_one_letter_module_aliases() -> None:
    bad = [
        f"{p.relative_to(ROOT)}: {a.name} as {a.asname}"
        for p, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for a in node.names
        if a.asname is not None and len(a.asname) == 1 and a.name != "numpy"
    ]
    assert not bad, bad


def test_fixed_ask_is_read_in_one_place() -> None:
    copies = [
        str(p.relative_to(ROOT))
        for p in GENERATORS
        if "else [ask]" in p.read_text(encoding="utf-8")
        or 'else [fixed["ask"]]' in p.read_text(encoding="utf-8")
    ]
    assert copies == ["generators/core/params.py"], copies


def test_fixed_ask() -> None:
    assert fixed_ask({}) is None
    assert fixed_ask({"ask": "h_1"}) == ["h_1"]
    assert fixed_ask({"ask": ["h_1", "y_2"]}) == ["h_1", "y_2"]
    assert fixed_ask({"ask": ("h_1",)}) == ["h_1"]


def _defined(kind: type[ast.AST]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, kind):
                out.setdefault(node.name, []).append(str(p.relative_to(ROOT)))  # type: ignore[attr-defined]
    return out


def test_one_line_class_and_one_slot_filler() -> None:
    classes = _defined(ast.ClassDef)
    assert classes["Line"] == ["generators/core/worked.py"]
    fillers = [
        str(p.relative_to(ROOT))
        for p, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(isinstance(f, ast.FunctionDef) and f.name == "fill" for f in node.body)
    ]
    assert fillers == ["generators/core/symbolic.py"], fillers


def test_unevaluated_sums_and_products_and_closures_live_in_core() -> None:
    # Every family builds its unevaluated sums and products with symbolic.plus/times, and closes
    # dependencies with worked.closure.
    functions = _defined(ast.FunctionDef)
    assert not {n: functions[n] for n in ("_sum", "_prod", "_add", "_mul") if n in functions}
    assert functions["plus"] == functions["times"] == ["generators/core/symbolic.py"]
    text = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in GENERATORS}
    closing = [f for f, s in text.items() if "d |= deps.get(" in s or "d |= closed.get(" in s]
    assert closing == ["generators/core/worked.py"], closing


def test_kalman_is_split_by_concern() -> None:
    # params, the LaTeX printer, the model and the rendering each in a module of their own
    families = "generators/families/"
    functions = _defined(ast.FunctionDef)
    classes = _defined(ast.ClassDef)
    assert families + "kalman_params.py" in functions["validate"]
    assert classes["SlotPrinter"] == [families + "kalman_latex.py"]
    assert classes["Builder"] == [families + "kalman.py"]
    assert families + "kalman_render.py" in functions["solution"]
    assert families + "kalman.py" not in functions["solution"] + functions["validate"]


def test_readme_misconception_table_is_generated_from_the_registry() -> None:
    # A new template's codes reach the README by `python scripts/readme_tables.py`, not by hand.
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "readme_tables", ROOT / "scripts/readme_tables.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert module.rewritten(text) == text, "README.md is stale: run python scripts/readme_tables.py"


def test_one_plain_printer_of_reference_answers() -> None:
    # The Markdown answer key prints values with exports.common.plain, not a copy of it.
    import jobs.formats

    source = (ROOT / "jobs/formats.py").read_text(encoding="utf-8")
    assert not hasattr(jobs.formats, "_plain")
    assert "from jobs.exports.common import plain" in source
