"""Settings of every test: helpers.py (imported as ``helpers``) gets pytest's assert messages."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("helpers")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest modules first. With one process per core (`make test`: pytest-xdist, one file
    per process at a time, in this order), the end-to-end modules that build warehouses start
    first, those on the real log before the others, and the many short unit tests fill in at
    the end, so that no process is left alone with a long module while the other is idle."""

    def weight(item: pytest.Item) -> tuple[bool, bool]:
        return (
            item.get_closest_marker("dbt") is None,
            item.get_closest_marker("real_data") is None,
        )

    items.sort(key=weight)
