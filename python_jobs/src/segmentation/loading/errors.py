"""The one exception a load raises for problems the user can fix."""

from __future__ import annotations


class LoadError(Exception):
    """A load that cannot go ahead: bad path, file, column mapping or option.

    The message names the file (and row or column where relevant) and what is wrong. When it
    is raised nothing has been written: the whole load runs in one DuckDB transaction.
    """
