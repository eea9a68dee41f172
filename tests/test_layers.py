"""The layers, read from the imports: grader < generators < jobs < store < worker < web < seqquiz
(the CLI). A package imports only packages below it, including in function bodies; no two
packages import each other; the layers below the doors import none of the doors' frameworks."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Lowest first. A package may import the packages before it, never one after it.
LAYERS = ("grader", "generators", "jobs", "store", "worker", "web", "seqquiz")

#: What the queue, the HTTP service and the database bring: the doors' business, not the core's.
DOOR_FRAMEWORKS = frozenset(
    {"billiard", "celery", "kombu", "redis", "fastapi", "starlette", "uvicorn", "sqlalchemy"}
)
CORE = ("grader", "generators", "jobs")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, as a path relative to the root
    line: int
    target: str  # the imported module, dotted

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def imports_of(path: Path, root: Path) -> Iterator[Import]:
    """Every import in a module, at any depth (function bodies included), with relative imports
    resolved against the module's own package."""
    rel = path.relative_to(root)
    package = list(rel.parent.parts)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(rel.as_posix(), node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            yield Import(rel.as_posix(), node.lineno, target)


def all_imports(root: Path, layers: tuple[str, ...]) -> list[tuple[str, Import]]:
    out = []
    for package in layers:
        for path in sorted((root / package).rglob("*.py")):
            out.extend((package, imp) for imp in imports_of(path, root))
    return out


def upward_imports(root: Path, layers: tuple[str, ...] = LAYERS) -> list[str]:
    """Each import of a package above the importer's own, as `module:line imports target (...)`."""
    rank = {name: i for i, name in enumerate(layers)}
    bad = []
    for package, imp in all_imports(root, layers):
        top = imp.target.split(".")[0]
        if top in rank and rank[top] > rank[package]:
            bad.append(f"{imp} ({top} is above {package})")
    return bad


def package_cycles(root: Path, layers: tuple[str, ...] = LAYERS) -> list[str]:
    """Cycles among the top-level packages, each as `a -> b -> a` with one import per edge."""
    edges: dict[str, dict[str, Import]] = {name: {} for name in layers}
    for package, imp in all_imports(root, layers):
        top = imp.target.split(".")[0]
        if top in edges and top != package:
            edges[package].setdefault(top, imp)
    cycles = []
    seen: set[frozenset[str]] = set()

    def walk(path: list[str]) -> None:
        for nxt in sorted(edges[path[-1]]):
            if nxt == path[0]:
                key = frozenset(path)
                if key not in seen:
                    seen.add(key)
                    hops = zip(path, [*path[1:], path[0]], strict=True)
                    cycles.append(
                        " -> ".join([*path, path[0]])
                        + ": "
                        + "; ".join(str(edges[a][b]) for a, b in hops)
                    )
            elif nxt not in path:
                walk([*path, nxt])

    for start in layers:
        walk([start])
    return cycles


def framework_imports(root: Path) -> list[str]:
    return [
        f"{imp} (a door's framework, in {package})"
        for package, imp in all_imports(root, CORE)
        if imp.target.split(".")[0] in DOOR_FRAMEWORKS
    ]


def test_no_package_imports_one_above_it() -> None:
    bad = upward_imports(ROOT)
    assert not bad, "imports against the layers " + " < ".join(LAYERS) + ":\n" + "\n".join(bad)


def test_no_two_packages_import_each_other() -> None:
    cycles = package_cycles(ROOT)
    assert not cycles, "package cycles:\n" + "\n".join(cycles)


def test_the_core_imports_no_door_framework() -> None:
    bad = framework_imports(ROOT)
    assert not bad, "\n".join(bad)


def test_every_package_is_in_a_layer() -> None:
    # A new top-level package must be placed in the order, or the checks above would skip it.
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == set(LAYERS), packages ^ set(LAYERS)


# ---- the checker itself, on a made-up tree ----------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_checker_names_a_function_level_import_of_a_door(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "low/__init__.py": "",
            "low/mod.py": "import os\n\n\ndef f():\n    from high.door import x\n    return x\n",
            "high/__init__.py": "",
            "high/door.py": "from low import mod\n",
        },
    )
    assert upward_imports(root, ("low", "high")) == [
        "low/mod.py:5 imports high.door (high is above low)"
    ]
    assert package_cycles(root, ("low", "high")) == [
        "low -> high -> low: low/mod.py:5 imports high.door; high/door.py:1 imports low"
    ]


def test_the_checker_resolves_relative_imports(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "low/__init__.py": "from . import mod\n",
            "low/mod.py": "from ..high import door\n",
            "high/__init__.py": "",
            "high/door.py": "",
        },
    )
    assert upward_imports(root, ("low", "high")) == [
        "low/mod.py:1 imports high (high is above low)"
    ]
    assert package_cycles(root, ("low", "high")) == []


def test_the_image_and_the_distribution_ship_every_package() -> None:
    import re
    import tomllib

    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = re.findall(r"^COPY (\w+) \./\1$", dockerfile, flags=re.MULTILINE)
    assert copied == list(LAYERS), copied  # lowest layer first, as the comment there says
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert include == [f"{p}*" for p in LAYERS], include
