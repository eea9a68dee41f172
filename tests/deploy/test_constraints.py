"""constraints.txt pins every runtime dependency of the image to the version the suite ran with.

The Dockerfile installs seqquiz with it, so an image built next month runs the libraries that
were tested, not whatever was released since. After upgrading the environment on purpose:

    python tests/deploy/test_constraints.py --update
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints.txt"
HEADER = """\
# Runtime dependencies of the seqquiz image (the Dockerfile installs with this file), pinned to
# the versions the test suite ran with. Regenerate from the tested environment, not by hand:
#   python tests/deploy/test_constraints.py --update
"""


def project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def image_python() -> str:
    """The exact Python version of the image's base (the Dockerfile's first FROM)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    m = re.search(r"^FROM\s+python:(\d+\.\d+\.\d+)-\S+", dockerfile, re.M)
    assert m, "the Dockerfile's base image is not pinned to an exact Python (python:X.Y.Z-...)"
    return m[1]


def image_markers() -> dict[str, str]:
    """Environment markers as the image evaluates them: a dependency needed only below some
    Python patch release (redis needs async-timeout before 3.11.3) is pinned or not by the
    image's Python, not by the one that runs this."""
    full = image_python()
    return {
        **default_environment(),
        "python_full_version": full,
        "python_version": ".".join(full.split(".")[:2]),
        "implementation_version": full,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
    }


def _applies(req: Requirement, extras: frozenset[str]) -> bool:
    if req.marker is None:
        return True
    env = image_markers()
    return any(req.marker.evaluate({**env, "extra": e}) for e in (extras or {""}))


def runtime_closure() -> dict[str, str]:
    """Every distribution the runtime dependencies pull in, at the versions installed here (the
    tested environment), for the image's Python: name -> version."""
    found: dict[str, str] = {}
    todo = [(req, frozenset(req.extras)) for req in project_requirements()]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        dist = metadata.distribution(req.name)
        found[name] = dist.version
        for raw in dist.requires or ():
            sub = Requirement(raw)
            if _applies(sub, extras):
                todo.append((sub, frozenset(sub.extras)))
    return dict(sorted(found.items()))


def read_pins(text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!-]*)", line)
        assert m, f"constraints.txt line {number}: {line!r} is not NAME==VERSION"
        name = canonicalize_name(m[1])
        assert name not in pins, f"constraints.txt line {number}: {m[1]} is pinned twice"
        pins[name] = m[2]
    return pins


def render(closure: dict[str, str]) -> str:
    return HEADER + "".join(f"{name}=={version}\n" for name, version in closure.items())


# -- tests --------------------------------------------------------------------------------------


def test_direct_dependencies_are_pinned_within_their_ranges() -> None:
    pins = read_pins(CONSTRAINTS.read_text())
    for req in project_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"constraints.txt does not pin {req.name} ({req})"
        assert req.specifier.contains(Version(pins[name]), prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {req}"
        )


def test_every_runtime_dependency_is_pinned_and_nothing_else() -> None:
    """Closed under dependencies: what a pinned distribution requires is pinned too. Where this
    environment has a pinned version installed, its metadata tells what it requires; elsewhere
    (an environment with other versions) only those nodes are checked."""
    pins = read_pins(CONSTRAINTS.read_text())
    todo = [(req, frozenset(req.extras)) for req in project_requirements()]
    reached: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        assert name in pins, f"constraints.txt does not pin {req.name}, needed as {req}"
        assert req.specifier.contains(Version(pins[name]), prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, but something requires {req}"
        )
        reached.add(name)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if Version(dist.version) != Version(pins[name]):
            continue
        for raw in dist.requires or ():
            sub = Requirement(raw)
            if _applies(sub, extras):
                todo.append((sub, frozenset(sub.extras)))
    # Test and lint tools (pytest, ruff, ...) stay out of the image.
    assert set(pins) == reached, f"not runtime dependencies: {sorted(set(pins) - reached)}"


def test_the_base_image_is_an_exact_python_the_project_supports() -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert SpecifierSet(requires).contains(image_python())


def test_the_image_installs_with_the_constraints() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^COPY\b.*\bconstraints\.txt\b", dockerfile, re.M), dockerfile
    install = re.search(r"^RUN\b.*?pip install[^\n]*", dockerfile, re.M | re.S)
    assert install, dockerfile
    assert "PIP_CONSTRAINT=" in install[0] or re.search(r"(-c|--constraint)\s", install[0])


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(f"usage: python {sys.argv[0]} --update")
    CONSTRAINTS.write_text(render(runtime_closure()))
    print(f"wrote {CONSTRAINTS}")
