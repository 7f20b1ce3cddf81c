"""The one exception for failures the user can fix: printed by the CLI without a traceback."""

from __future__ import annotations


class JobError(Exception):
    """An expected failure with a message for the user (printed without a traceback)."""
