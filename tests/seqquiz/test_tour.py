"""docs/tour.md and the README's tour are real output of today's templates: a template change
that alters them fails here until `python scripts/tour.py` rewrites them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _tour() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tour", ROOT / "scripts" / "tour.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tour_and_the_readme_families_are_current() -> None:
    tour = _tour()
    stale = "is stale: run python scripts/tour.py"
    assert (ROOT / "docs" / "tour.md").read_text() == tour.tour(), f"docs/tour.md {stale}"
    readme = (ROOT / "README.md").read_text()
    assert tour.with_families(readme) == readme, f"README.md's tour {stale}"
