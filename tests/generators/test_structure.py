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
