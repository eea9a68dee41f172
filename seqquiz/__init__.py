"""seqquiz: randomized sequence-model exercises with symbolic worked solutions and tolerant grading."""

__version__ = "0.1.0"
