"""`python -m seqquiz` runs the command line."""

from seqquiz.cli import main

main()
