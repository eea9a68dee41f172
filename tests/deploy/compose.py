"""docker-compose.yml read the way Compose reads it (YAML with its anchors, then `${VAR}`
interpolation), and a container's view of the files mapped to files here, so that a service's
own command can run natively without Docker."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def load_raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def spec() -> dict[str, Any]:
    """The Compose Specification's JSON schema, as the check-jsonschema package vendors it (with
    its Apache-2.0 licence), so the test needs no network and the repository no copy."""
    schema = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(schema.read_text(encoding="utf-8"))


# -- interpolation (compose-spec 12-interpolation.md) -------------------------------------------

_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class InterpolationError(ValueError):
    pass


def _substitute(text: str, env: Mapping[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        name = m["braced"] or m["bare"]
        op, arg = m["op"], m["arg"] or ""
        value = env.get(name)
        missing = value is None if op in ("-", "?") else not value
        if op in (":-", "-"):
            return arg if missing else str(value)
        if op in (":?", "?") and missing:
            raise InterpolationError(f"{name}: {arg}")
        return value or ""

    return _VAR.sub(one, text)


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Values are interpolated, keys are not (as Compose does)."""
    if isinstance(value, str):
        return _substitute(value, env)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


# -- sizes --------------------------------------------------------------------------------------


def docker_bytes(size: str) -> int:
    """A Compose memory size: 1536m, 1g, 512M (binary units, as Docker reads them)."""
    m = re.fullmatch(r"(\d+)\s*([bkmg]?)b?", str(size).strip().lower())
    assert m, f"not a memory size: {size!r}"
    return int(m[1]) * 1024 ** "bkmg".index(m[2] or "b")


def redis_bytes(size: str) -> int:
    """A redis.conf size: 1k is 1000 bytes, 1kb is 1024 (redis.conf's own header)."""
    m = re.fullmatch(r"(\d+)([kmg]?)(b?)", size.strip().lower())
    assert m, f"not a redis size: {size!r}"
    base = 1024 if m[3] else 1000
    return int(m[1]) * base ** " kmg".index(m[2] or " ")


def redis_conf(path: Path) -> dict[str, str]:
    """Directive -> its argument text; the last one wins, as in Redis."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, rest = line.partition(" ")
            out[key.lower()] = rest.strip()
    return out


# -- a container's files, here ------------------------------------------------------------------


def mounts(compose: Mapping[str, Any], service: str, scratch: Path) -> dict[str, Path]:
    """Container path -> the file or directory here that Compose would put there: config and
    secret files from the project, inline `content` written to `scratch`, named volumes as empty
    directories in `scratch`."""
    svc = compose["services"][service]
    out: dict[str, Path] = {}
    for kind, default_dir in (("configs", "/"), ("secrets", "/run/secrets/")):
        for entry in svc.get(kind, []):
            source = entry if isinstance(entry, str) else entry["source"]
            target = default_dir + source if isinstance(entry, str) else entry.get("target")
            target = target or default_dir + source
            top = compose[kind][source]
            if "file" in top:
                out[target] = (ROOT / top["file"]).resolve()
            elif "content" in top:
                path = scratch / kind / source
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(top["content"])
                out[target] = path
            else:
                raise AssertionError(f"{kind}.{source}: only file and content are mapped natively")
    for entry in svc.get("volumes", []):
        assert isinstance(entry, str), f"{service}: long volume syntax is not mapped natively"
        source, target = entry.split(":")[:2]
        if source.startswith((".", "/")):
            out[target] = (ROOT / source).resolve()
        else:
            assert source in compose.get("volumes", {}), f"{service}: undeclared volume {source}"
            path = scratch / "volumes" / source
            path.mkdir(parents=True, exist_ok=True)
            out[target] = path
    return out


def console_script(name: str) -> list[str] | None:
    """How to run one of the project's console scripts (pyproject [project.scripts]) from this
    checkout: the image installs them, a checkout has only the modules."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("scripts", {})
    if name not in scripts:
        return None
    module, _, func = scripts[name].partition(":")
    code = f"import sys; from {module} import {func}; sys.argv[0] = {name!r}; sys.exit({func}())"
    return [sys.executable, "-c", code]


def hosts(compose: Mapping[str, Any], service: str) -> set[str]:
    """The other services this one connects to: their names as hosts in its environment."""
    env = compose["services"][service].get("environment") or {}
    text = " ".join(str(v) for v in (env.values() if isinstance(env, dict) else env))
    names = set(compose["services"]) - {service}
    return {n for n in names if re.search(rf"[@/]{re.escape(n)}(:\d+)?(/|\b)", text)}


def readdress(value: str, service: str, container_port: int, host: str, port: int) -> str:
    """`redis:6379` in a URL -> where the native process listens."""
    return re.sub(rf"(?<=[@/]){re.escape(service)}:{container_port}\b", f"{host}:{port}", value)


# -- processes ----------------------------------------------------------------------------------


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM the process group (a warm shutdown), SIGKILL what is left; reap the leader."""
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
