"""Writes docs/tour.md: every command of the tour run for real, and one variant of each template
family with its worked solution. Run it after changing a template: python scripts/tour.py"""

from __future__ import annotations

import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEQQUIZ = [sys.executable, "-m", "seqquiz"]

Q4 = '{"x":[18,9,-8],"w_xh":-0.1,"w_hh":0.5,"w_hy":0.25,"b_h":0.4,"b_y":0,"targets":[0.1,-0.1,-0.2],"ask":["dEdz_1"]}'
COMMANDS = [
    ["templates"],
    [
        "solve",
        "rnn-forward",
        "--params",
        '{"x":[9,4,-2],"w_xh":0.5,"w_hh":-1.0,"w_hy":-0.7,"b_h":-1.0,"b_y":0}',
    ],
    ["grade", "rnn-bptt", "--params", Q4, "--response", '{"dEdz_1": "0.01392"}'],
    ["grade", "rnn-bptt", "--params", Q4, "--response", '{"dEdz_1": "0.012"}'],
    [
        "grade",
        "memory-capacity",
        "--params",
        '{"units": 16, "model": "hmm", "ask": ["bits"]}',
        "--response",
        '{"bits": "16"}',
    ],
]
FAMILIES = [
    ("Recurrent nets: backpropagation through time", "rnn-bptt", 4),
    ("Vanishing and exploding gradients", "rnn-gradient-flow", 3),
    ("Hidden Markov models: Viterbi", "hmm-viterbi", 2),
    ("Linear dynamical systems: Kalman filtering", "lds-kalman", 5),
    ("LSTM memory cells", "lstm-cell", 3),
    ("Concepts: how much context each setup has", "context-window", 1),
    ("An RNN that adds binary numbers", "rnn-binary-addition", 2),
]


def run(args: list[str]) -> str:
    proc = subprocess.run([*SEQQUIZ, *args], capture_output=True, text=True, cwd=ROOT, check=True)
    return proc.stdout


@cache
def markdown(template: str, seed: int) -> str:
    """One variant in Markdown without its document title."""
    md = run(["generate", template, "--seed", str(seed), "--format", "markdown"])
    return md.split("\n", 2)[2].strip()


def tour() -> str:
    """docs/tour.md as it should read now."""
    out = [
        "# A tour of seqquiz",
        "",
        "Every block below is real output, written by `python scripts/tour.py`.",
        "",
    ]
    for args in COMMANDS:
        shown = " ".join(shlex.quote(a) for a in args)
        out += [f"## `seqquiz {shown}`", "", "```", run(args).rstrip(), "```", ""]
    out += ["# One variant of each family, with its worked solution", ""]
    for title, template, seed in FAMILIES:
        out += [
            f"## {title} (`seqquiz generate {template} --seed {seed} --format markdown`)",
            "",
            markdown(template, seed),
            "",
        ]
    return "\n".join(out)


def with_families(text: str) -> str:
    """The README `text` with one variant of each family, folded, between its tour markers."""
    blocks = []
    for title, template, seed in FAMILIES:
        body = (
            ("\n" + markdown(template, seed)).replace("\n## ", "\n#### ").replace("\n# ", "\n### ")
        )
        blocks += [
            "<details>",
            f"<summary><b>{title}</b>: <code>seqquiz generate {template} --seed {seed} --format markdown</code></summary>",
            "",
            body,
            "",
            "</details>",
            "",
        ]
    start, end = "<!-- tour:start -->", "<!-- tour:end -->"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    return head + start + "\n" + "\n".join(blocks) + end + tail


def main() -> None:
    (ROOT / "docs" / "tour.md").write_text(tour())
    print("wrote docs/tour.md")
    readme = ROOT / "README.md"
    readme.write_text(with_families(readme.read_text()))
    print("wrote the families into README.md")


if __name__ == "__main__":
    main()
