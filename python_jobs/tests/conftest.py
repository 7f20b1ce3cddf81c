"""Settings of every test: helpers.py (imported as ``helpers``) gets pytest's assert messages."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("helpers")
