"""LaTeX source of a printable exam (figures in TikZ), and with `--answer-key` its answer key:
the answers, the accepted intervals and the worked solutions after each problem. Compiles with
pdflatex and the base, recommended and pictures (TikZ) TeX Live collections."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote

from generators import Variant
from jobs.exports import common
from jobs.exports.figures import tikz_for
from jobs.exports.markup import LatexRenderer, tex_escape
from jobs.formats import Format, SetInfo

TEX = LatexRenderer()

PREAMBLE = r"""\documentclass[11pt,a4paper]{article}
\usepackage[utf8]{inputenc}
\usepackage{amsmath,amssymb}
\usepackage{graphicx}
\usepackage{tikz}
\usepackage[margin=2cm]{geometry}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
\newcommand{\answerbox}[1][5cm]{\rule{#1}{0.4pt}}
\newcommand{\option}[1]{\makebox[1.2em][l]{$\square$}#1\quad}
\newenvironment{answers}{\par\medskip\small\hrule\smallskip}{\smallskip\hrule\par}
"""


def _g(x: float) -> str:
    return f"{x:.6g}"


def part_tex(p: common.Part) -> str:
    head = f"\\textbf{{({p.letter})}} {TEX.inline(p.prompt)}"
    b0 = p.blanks[0]
    if b0.kind in (common.BlankKind.CHOICE, common.BlankKind.MULTI):
        opts = " ".join(f"\\option{{{tex_escape(o)}}}" for o in b0.options)
        return f"{head}\\\\\n\\hspace*{{2em}}{opts}"
    if len(p.blanks) == 1 and not b0.index:
        return f"{head} \\hfill \\answerbox"
    cells = "\\quad ".join(f"{tex_escape(b.suffix)}\\,\\answerbox[2.2cm]" for b in p.blanks)
    return f"{head}\\\\\n\\hspace*{{2em}}{cells}"


def _answer(b: common.Blank) -> tuple[str, str]:
    """(the answer as printed, what is accepted)."""
    if b.kind is common.BlankKind.NUMBER:
        acc = " or ".join(f"${common.interval_text(r)}$" for r in b.ranges)
        return f"${_g(b.value)}$", acc
    if b.kind is common.BlankKind.INTEGER:
        return f"${b.value}$", "exactly"
    if b.kind in (common.BlankKind.CHOICE, common.BlankKind.MULTI):
        value = ", ".join(b.correct) if b.correct else "(none)"
        return tex_escape(value), "" if b.kind is common.BlankKind.CHOICE else "partial credit"
    acc = " or ".join(f"\\texttt{{{tex_escape(a)}}}" for a in b.accept)
    return f"\\texttt{{{tex_escape(str(b.value))}}}", acc


def _machine(v: Variant, index: int, p: common.Part, b: common.Blank) -> str:
    """A comment line that tools (and the tests) read back: the exact values of the key
    (numbers as shortest round-trip decimals, anything else as URL-quoted JSON)."""
    fields = [common.variant_id(v, index), b.key, f"kind={b.kind.value}"]
    if b.kind is common.BlankKind.NUMBER:
        fields.append(f"value={common.num(b.value)}")
        fields += [f"range={common.num(r.lo)},{common.num(r.hi)}" for r in b.ranges]
    elif b.kind in (common.BlankKind.CHOICE, common.BlankKind.MULTI):
        fields.append("value=" + quote(json.dumps(list(b.correct))))
    else:
        fields.append("value=" + quote(json.dumps(b.value)))
    return "% seqquiz-key " + " ".join(fields)


def key_tex(v: Variant, index: int, parts: Sequence[common.Part]) -> str:
    rows = []
    for p in parts:
        for b in p.blanks:
            answer, accepted = _answer(b)
            rows.append(_machine(v, index, p, b))
            rows.append(
                f"({p.letter}){tex_escape(b.suffix)} & {answer} & {accepted} & {_g(b.weight)} \\\\"
            )
    table = (
        "\\begin{tabular}{llll}\nPart & Answer & Accepted & Points \\\\ \\hline\n"
        + "\n".join(rows)
        + "\n\\end{tabular}"
    )
    solution = TEX.render(v.solution) if v.solution else ""
    return (
        "\\begin{answers}\n\\textbf{Answers.}\\\\[2pt]\n"
        + table
        + "\n\n\\textbf{Worked solution.}\n\n"
        + solution
        + "\n\\end{answers}"
    )


def problem_tex(v: Variant, index: int, answer_key: bool) -> str:
    parts = common.parts_of(v)
    pts = common.total_points(parts)
    seed = "" if v.seed is None else f", seed {v.seed}"
    out = [
        f"% {common.variant_id(v, index)}",
        f"\\section*{{Problem {index + 1}: {tex_escape(v.title or v.template)}"
        f"\\hfill{{\\normalfont\\small {_g(pts)} point{'s' if pts != 1 else ''}}}}}",
    ]
    fig = tikz_for(v)
    if fig:
        out.append(f"\\begin{{center}}\n{fig}\n\\end{{center}}")
    out.append(TEX.render(common.stem_body(v)))
    out += [part_tex(p) for p in parts]
    if answer_key:
        out.append(key_tex(v, index, parts))
    out.append(f"{{\\footnotesize\\color{{gray}} {tex_escape(v.template)} v{v.version}{seed}}}")
    return "\n\n".join(out)


def write(variants: Sequence[Variant], info: SetInfo) -> bytes:
    kind = "Answer key" if info.answer_key else "Exam"
    total = sum(common.total_points(common.parts_of(v)) for v in variants)
    title = (
        "\\begin{center}\n"
        f"{{\\LARGE\\bfseries {tex_escape(common.title_line(info.title))}}}\\\\[4pt]\n"
        f"{kind} --- {len(variants)} problem{'s' if len(variants) != 1 else ''}, {_g(total)} points"
        + ("" if info.answer_key else "\\\\[10pt]\nName: \\answerbox[8cm]")
        + "\n\\end{center}"
    )
    body = "\n\n".join(problem_tex(v, i, info.answer_key) for i, v in enumerate(variants))
    return f"{PREAMBLE}\\begin{{document}}\n{title}\n\n{body}\n\n\\end{{document}}\n".encode()


FORMAT = Format(
    "latex",
    "LaTeX exam source (TikZ figures); --answer-key writes its answer key",
    write,
    extension=".tex",
)
