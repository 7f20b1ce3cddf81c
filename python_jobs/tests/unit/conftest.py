"""Fixtures shared by the unit tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.benchmark.synthetic import synthetic_customer_features


@pytest.fixture(scope="module")
def planted(request: pytest.FixtureRequest) -> tuple[pd.DataFrame, np.ndarray]:
    """Synthetic customer features in four planted groups, and each customer's group: as many
    customers, from the seed, as the module's PLANTED = (customers, seed) says."""
    customers, seed = request.module.PLANTED
    return synthetic_customer_features(customers, n_groups=4, random_state=seed)
