"""PSI, bins and bands (segmentation.registry.drift); the retraining policy
(segmentation.config.retraining)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from segmentation.config.retraining import PolicyError, RetrainingPolicy, parse_flag
from segmentation.registry.drift import (
    SHARE_FLOOR,
    Signals,
    bin_shares,
    decide,
    fit_bin_edges,
    psi,
    psi_band,
    segment_size_rows,
)


def test_psi_is_zero_for_identical_shares_and_matches_the_formula() -> None:
    shares = np.array([0.2, 0.3, 0.5])
    assert psi(shares, shares) == 0.0
    now = np.array([0.1, 0.3, 0.6])
    expected = (0.1 - 0.2) * math.log(0.1 / 0.2) + (0.6 - 0.5) * math.log(0.6 / 0.5)
    assert psi(shares, now) == pytest.approx(expected)
    assert psi(shares, now) == pytest.approx(psi(now, shares))  # symmetric


def test_an_empty_bin_is_floored_not_infinite() -> None:
    value = psi(np.array([0.5, 0.5, 0.0]), np.array([0.4, 0.4, 0.2]))
    assert math.isfinite(value)
    assert value > (0.2 - SHARE_FLOOR) * math.log(0.2 / SHARE_FLOOR) * 0.99


def test_bands_follow_the_usual_cut_points() -> None:
    assert [psi_band(v) for v in (0.0, 0.099, 0.1, 0.25, 0.2501, 3.0)] == [
        "stable",
        "stable",
        "moderate",
        "moderate",
        "significant",
        "significant",
    ]
    assert psi_band(None) is None


def test_decile_bins_hold_a_tenth_each_and_merge_repeated_values() -> None:
    values = np.arange(1000, dtype=float)
    edges = fit_bin_edges(values, 10)
    assert edges.size == 9
    assert np.allclose(bin_shares(values, edges), 0.1, atol=0.002)
    mostly_zero = np.r_[np.zeros(800), np.arange(1, 201, dtype=float)]
    edges = fit_bin_edges(mostly_zero, 10)
    assert edges[0] == 0.0 and np.unique(edges).size == edges.size < 9
    shares = bin_shares(mostly_zero, edges)
    assert shares[0] == pytest.approx(0.8) and shares.sum() == pytest.approx(1.0)


def test_a_shift_of_the_distribution_gives_a_significant_psi() -> None:
    rng = np.random.default_rng(0)
    train = rng.lognormal(3.0, 1.0, 5000)
    edges = fit_bin_edges(train, 10)
    reference = bin_shares(train, edges)
    same = psi(reference, bin_shares(rng.lognormal(3.0, 1.0, 5000), edges))
    tripled = psi(reference, bin_shares(3 * rng.lognormal(3.0, 1.0, 5000), edges))
    assert psi_band(same) == "stable"
    assert psi_band(tripled) == "significant"


def test_policy_defaults_overrides_and_errors_name_the_key() -> None:
    policy = RetrainingPolicy.from_mapping({"max_feature_psi": 0.1})
    assert policy.max_feature_psi == 0.1 and policy.psi_bins == 10
    assert RetrainingPolicy.from_mapping(policy.to_json()) == policy
    for bad, key in (
        ({"max_feature_psy": 1}, "max_feature_psy"),
        ({"min_stability_ari": 1.5}, "min_stability_ari"),
        ({"psi_bins": 1}, "psi_bins"),
        ({"max_model_age_days": "30"}, "max_model_age_days"),
        ({"retrain_on_settings_change": "yes"}, "retrain_on_settings_change"),
    ):
        with pytest.raises(PolicyError, match=key):
            RetrainingPolicy.from_mapping(bad)


def test_retrain_flag_accepts_booleans_and_their_text() -> None:
    assert parse_flag(True) and parse_flag("True") and not parse_flag("False")
    assert not parse_flag(None) and not parse_flag(False)
    with pytest.raises(PolicyError, match="retrain"):
        parse_flag("sometimes")


def _signals(**changes) -> Signals:
    base = {
        "feature_psi": [{"feature_name": "monetary_amount", "psi": 0.05, "psi_band": "stable"}],
        "segment_sizes": [],
        "segment_size_psi": 0.01,
        "stability_ari": 0.9,
        "model_age_days": 30,
        "settings_changed": False,
    }
    return Signals(**{**base, **changes})


def test_every_rule_fires_on_its_own_signal_and_is_reported() -> None:
    policy = RetrainingPolicy()
    kept = decide(_signals(), policy, requested=False)
    assert not kept.retrain and kept.codes == ()
    assert {rule["rule_name"] for rule in kept.rules} >= {"feature_drift", "model_age"}
    drift = [{"feature_name": "avg_unit_price", "psi": 0.9, "psi_band": "significant"}]
    cases = {
        "feature_drift": _signals(feature_psi=drift),
        "segment_size_drift": _signals(segment_size_psi=0.3),
        "low_stability": _signals(stability_ari=0.2),
        "model_age": _signals(model_age_days=400),
        "settings_changed": _signals(settings_changed=True),
        "model_unusable": _signals(unusable_reason="column gone"),
    }
    for code, signals in cases.items():
        decision = decide(signals, policy, requested=False)
        assert decision.retrain and decision.codes == (code,), code
    assert "avg_unit_price PSI 0.900" in decide(cases["feature_drift"], policy, False).reason
    assert decide(None, policy, False).codes == ("first_model",)
    assert decide(_signals(), policy, True).codes == ("requested",)
    relaxed = RetrainingPolicy(retrain_on_settings_change=False)
    assert not decide(cases["settings_changed"], relaxed, False).retrain


def test_segment_size_rows_compare_training_and_current_shares() -> None:
    rows, total = segment_size_rows({1: 0.5, 2: 0.5}, np.array([1, 1, 1, 2]))
    assert [row["current_share"] for row in rows] == [0.75, 0.25]
    assert total == pytest.approx(sum(row["psi_term"] for row in rows)) and total > 0
    same, zero = segment_size_rows({1: 0.5, 2: 0.5}, np.array([1, 2]))
    assert zero == 0.0 and [row["customer_count"] for row in same] == [1, 1]


def test_exempt_features_are_reported_but_do_not_fire_the_drift_rule() -> None:
    tenure = [{"feature_name": "tenure_days", "psi": 2.0, "psi_band": "significant"}]
    signals = _signals(feature_psi=tenure)
    assert decide(signals, RetrainingPolicy(), False).codes == ("feature_drift",)
    exempt = RetrainingPolicy.from_mapping({"drift_exempt_features": ["tenure_days"]})
    assert exempt.drift_exempt_features == ("tenure_days",)
    assert not decide(signals, exempt, False).retrain
    assert RetrainingPolicy.from_mapping(exempt.to_json()) == exempt
    with pytest.raises(PolicyError, match="drift_exempt_features"):
        RetrainingPolicy.from_mapping({"drift_exempt_features": "tenure_days"})
