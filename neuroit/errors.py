"""User-facing errors.

Every problem caused by the user's input (a bad file, a bad parameter) raises a
:class:`NeuroitError` (a ``ValueError``) whose message is one sentence naming the
file or parameter and what is wrong. The CLI prints that sentence and exits non-zero,
without a traceback. Internal invariants use ``assert``.
"""
from __future__ import annotations

import os


class NeuroitError(ValueError):
    """A problem with the user's input, described in one sentence."""


class FileFormatError(NeuroitError):
    """A file that cannot be read as the format it claims to be."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
