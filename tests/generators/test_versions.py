"""A template's variants may change only with its version: the fingerprint of seeds 0..29 (params,
asked parts, answers) is recorded per (template, version) in versions.json. A change to a sampler
or to answers fails here until the version is bumped and the file is rewritten with

    python tests/generators/test_versions.py --update
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from generators import REGISTRY, Template, make_variant

RECORD = Path(__file__).with_name("versions.json")
SEEDS = range(30)


def fingerprint(template: Template) -> str:
    h = hashlib.sha256()
    for seed in SEEDS:
        v = make_variant(template, seed, render=False)
        h.update(orjson.dumps([v.params, v.answers], option=orjson.OPT_SORT_KEYS))
    return h.hexdigest()


def current() -> dict[str, dict[str, str]]:
    return {t.id: {str(t.version): fingerprint(t)} for t in REGISTRY}


def test_variants_change_only_with_the_version() -> None:
    recorded = orjson.loads(RECORD.read_bytes())
    for t in REGISTRY:
        versions = recorded.get(t.id, {})
        assert str(t.version) in versions, (
            f"{t.id} v{t.version} has no recorded fingerprint: run "
            "python tests/generators/test_versions.py --update"
        )
        assert fingerprint(t) == versions[str(t.version)], (
            f"{t.id}: its variants changed but its version is still {t.version}. Bump the "
            "version (old submissions must not be graded by the new sampler), then run "
            "python tests/generators/test_versions.py --update"
        )


if __name__ == "__main__":
    if "--update" not in sys.argv:
        sys.exit(__doc__)
    recorded = orjson.loads(RECORD.read_bytes()) if RECORD.exists() else {}
    for tid, versions in current().items():
        recorded.setdefault(tid, {}).update(versions)
    RECORD.write_bytes(
        orjson.dumps(recorded, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    print(f"wrote {RECORD}")
