"""LMS and print exports; importing this package registers each format in `seqquiz.formats`."""

from seqquiz.exports import gift, html, latex, moodle, qti12, qti21

__all__ = ["gift", "html", "latex", "moodle", "qti12", "qti21"]
