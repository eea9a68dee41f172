"""The memory of docker-compose.yml's `web` and `postgres` services, run natively as
tests/deploy runs them: PSS of each process tree after 20 grades of each of seven templates.

    PYTHONPATH=. python bench/compose_memory.py
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import httpx

from tests.deploy.test_compose import Stack, check_web, children

TEMPLATES = [
    "rnn-forward",
    "rnn-bptt",
    "rnn-gradient-flow",
    "hmm-forward",
    "hmm-viterbi",
    "lds-kalman",
    "lstm-cell",
]


def pss_mb(pids: list[int]) -> float:
    total_kb = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def main() -> None:
    stack = Stack(Path(tempfile.mkdtemp(prefix="seqquiz-compose-memory-")))
    try:
        web = stack.ensure("web")
        check_web(stack, "web", web)
        made = subprocess.run(
            ["sh", "-c", "seqquiz keys create bench --scope grade --json"],
            env=web.facts["env"], capture_output=True, text=True, check=True,
        )  # fmt: skip
        headers = {"Authorization": f"Bearer {json.loads(made.stdout)['key']}"}
        for template in TEMPLATES:
            for seed in range(20):
                payload = {"template": template, "seed": seed, "response": {}}
                resp = httpx.post(web.facts["url"] + "/v1/grade", json=payload, headers=headers,
                                  timeout=60)  # fmt: skip
                resp.raise_for_status()
        for name in ("web", "postgres"):
            run = stack.running[name]
            print(f"{name}: {pss_mb([run.proc.pid, *children(run.proc.pid)]):.0f} MB PSS")
    finally:
        stack.stop_all()


if __name__ == "__main__":
    main()
