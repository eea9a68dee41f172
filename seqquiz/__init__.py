"""seqquiz: randomized sequence-model exercises with symbolic worked solutions and tolerant grading.

This package is the command-line door (`seqquiz.cli`); the jobs it calls live in `jobs`."""

from jobs import __version__

__all__ = ["__version__"]
