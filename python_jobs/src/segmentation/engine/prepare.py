"""Feature preparation: from fct_customer_features rows to the matrix the algorithms see.

Per feature, in this order (each step is expressible in portable SQL, so the fitted parameters
can score new customers without Python):

1. impute NULLs by the configured rule (another column, the fitted median, or a constant);
2. clip to the fitted quantile bounds (in original units; clipped values are flagged as
   outliers, never dropped);
3. ``ln(1 + x)`` for the configured skewed money/count features;
4. scale: ``(x - centre) / scale`` (standard: mean/std; robust: median/IQR, falling back to the
   std when the IQR is 0); the scale of a log1p feature is at least ``log_scale_floor`` (log
   units), so a feature that barely varies (the tenure of a log whose customers all started in
   the same weeks) is not stretched to a full unit of distance and does not split customers on
   noise. The quantile scaler and PCA are supported but not SQL-scorable.

Features that are constant after steps 1-3 (zero variance) or whose |Pearson r| with an earlier
kept feature exceeds ``max_abs_correlation`` are left out; the reason is recorded in
:attr:`FeaturePreparer.params_`, one row per configured feature.

Customer attributes chosen to define segments (``categorical_attributes``, name -> weight) come
as 0/1 category columns (``attribute_<name>__<category>``, one per category, 0 for a customer
without the attribute). They are not imputed, clipped, logged or fitted: each is scaled by the
fixed ``sqrt(2) / weight``, so two customers in different categories are ``weight`` apart and a
customer without the attribute sits half-way (``weight / sqrt(2)`` from each category); the
columns of one attribute are kept or left out together.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.preprocessing import QuantileTransformer

from segmentation.config.segmentation import PreparationSettings, indicator_prefix
from segmentation.io.tables import columns
from segmentation.io.values import python_scalar

ID_COLUMN = "customer_id"
# Relative variance below which a feature counts as constant.
ZERO_VARIANCE_TOLERANCE = 1e-12
# Columns of the transform-parameter table, in order.
PARAM_COLUMNS: tuple[str, ...] = columns("ml_feature_transform_params")


class FeatureInputError(ValueError):
    """The customer feature table cannot be prepared (names the column and rows at fault)."""


def validate_features(frame: pd.DataFrame, settings: PreparationSettings) -> None:
    """Check ``frame`` has unique customer ids and finite numeric values in the used columns.

    NULL is allowed only in a feature with an imputation rule, or in every row (an input the
    log lacks, left out by :meth:`FeaturePreparer.fit`). Raises
    :class:`FeatureInputError` naming the column and a few customer ids.
    """
    needed = [ID_COLUMN, *settings.features, *_imputation_columns(settings)]
    missing = [name for name in dict.fromkeys(needed) if name not in frame.columns]
    indicators = [name for _, _, names in attribute_indicators(frame, settings) for name in names]
    if missing:
        raise FeatureInputError(
            f"fct_customer_features lacks column(s) {missing}; present: {list(frame.columns)}"
        )
    ids = frame[ID_COLUMN]
    if ids.isna().any():
        raise FeatureInputError(
            f"fct_customer_features has {int(ids.isna().sum())} NULL customer_id"
        )
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        raise FeatureInputError(
            f"fct_customer_features has duplicate customer_id values, e.g. "
            f"{_examples(duplicated)}: expected one row per customer"
        )
    for column in dict.fromkeys([*settings.features, *_imputation_columns(settings), *indicators]):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad_type = values.isna() & frame[column].notna()
        if bad_type.any():
            raise FeatureInputError(
                f"column {column} has non-numeric values for customer_id {_examples(ids[bad_type])}"
            )
        array = values.to_numpy(dtype=float, na_value=np.nan)
        infinite = np.isinf(array)
        if infinite.any():
            raise FeatureInputError(
                f"column {column} has {int(infinite.sum())} infinite value(s), e.g. customer_id "
                f"{_examples(ids[infinite])}"
            )
        nulls = np.isnan(array)
        # NULL for everyone: a switched-off input (e.g. no stock codes); fit() leaves it out
        if column in indicators and nulls.any():
            raise FeatureInputError(
                f"attribute column {column} has {int(nulls.sum())} NULL value(s), e.g. "
                f"customer_id {_examples(ids[nulls])}: a category column is 0 or 1"
            )
        if nulls.any() and not nulls.all() and settings.imputation_for(column) is None:
            raise FeatureInputError(
                f"column {column} has {int(nulls.sum())} NULL/NaN value(s), e.g. customer_id "
                f"{_examples(ids[nulls])}, and no rule in segmentation.imputation"
            )


class FeaturePreparer:
    """Fit and apply the per-feature transformation described in the module docstring.

    Parameters
    ----------
    settings:
        Preparation settings (features, log1p list, imputation, clip quantiles, scaler, PCA).
    random_state:
        Seed for the quantile scaler's subsample and PCA's solver.

    Fitted attributes
    -----------------
    params_ : DataFrame, one row per configured feature (columns :data:`PARAM_COLUMNS`).
    used_features_ : tuple of the features that enter the model.
    feature_names_out_ : tuple of output column names (used features, or ``pca_1``...).
    """

    def __init__(self, settings: PreparationSettings, random_state: int = 0) -> None:
        self.settings = settings
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame) -> FeaturePreparer:
        """Learn imputation values, clip bounds, exclusions and scaling from ``frame``."""
        validate_features(frame, self.settings)
        if len(frame) == 0:
            raise FeatureInputError("fct_customer_features has no rows: nothing to fit")
        rows: list[dict[str, object]] = []
        transformed: dict[str, np.ndarray] = {}
        for position, feature in enumerate(self.settings.features, start=1):
            row, values = self._fit_feature(frame, feature, position)
            rows.append(row)
            transformed[feature] = values
        self._exclude_constant_and_correlated(rows, transformed)
        indicator_rows, indicator_values = self._indicator_rows(frame, len(rows))
        rows += indicator_rows
        transformed.update(indicator_values)
        used = tuple(row["feature_name"] for row in rows if row["is_used"])
        if not used:
            reasons = "; ".join(f"{row['feature_name']}: {row['exclusion_reason']}" for row in rows)
            raise FeatureInputError(f"no feature is left to cluster on ({reasons})")
        matrix = np.column_stack([transformed[name] for name in used])
        self._fit_scaler(rows, used, matrix)
        self.used_features_ = used
        self.params_ = _params_frame(rows)
        self.pca_ = None
        self.feature_names_out_ = used
        if self.settings.pca_components is not None:
            scaled = self._scale(matrix)
            n_components = self.settings.pca_components
            if isinstance(n_components, int):
                n_components = min(n_components, len(used), len(frame))
            self.pca_ = PCA(n_components=n_components, svd_solver="full").fit(scaled)
            self.feature_names_out_ = tuple(f"pca_{i + 1}" for i in range(self.pca_.n_components_))
        return self

    def _fit_feature(
        self, frame: pd.DataFrame, feature: str, position: int
    ) -> tuple[dict[str, object], np.ndarray]:
        raw = _column(frame, feature)
        missing = int(np.isnan(raw).sum())
        rule = self.settings.imputation_for(feature)
        row = _used_row(feature, position, missing)
        if raw.size and missing == raw.size:
            row.update(
                is_used=False,
                exclusion_reason=(
                    "NULL for every customer (the input it needs is missing from the log)"
                ),
                clip_lower=None,
                clip_upper=None,
                clipped_low_count=0,
                clipped_high_count=0,
                is_log1p=feature in self.settings.log1p_features,
            )
            return row, np.zeros(raw.size)
        if isinstance(rule, str) and rule != "median":
            row["imputation_rule"], row["imputation_column"] = "column", rule
        elif rule == "median":
            observed = raw[~np.isnan(raw)]
            if observed.size == 0:
                raise FeatureInputError(f"column {feature} is NULL for every customer: no median")
            row["imputation_rule"], row["imputation_value"] = "constant", float(np.median(observed))
        elif rule is not None:
            row["imputation_rule"], row["imputation_value"] = "constant", float(rule)
        values = _impute(frame, raw, row)
        if self.settings.clip_quantiles is not None:
            low_q, high_q = self.settings.clip_quantiles
            row["clip_lower"] = float(np.quantile(values, low_q))
            row["clip_upper"] = float(np.quantile(values, high_q))
            row["clipped_low_count"] = int((values < row["clip_lower"]).sum())
            row["clipped_high_count"] = int((values > row["clip_upper"]).sum())
            values = np.clip(values, row["clip_lower"], row["clip_upper"])
        else:
            row.update(clip_lower=None, clip_upper=None, clipped_low_count=0, clipped_high_count=0)
        row["is_log1p"] = feature in self.settings.log1p_features
        if row["is_log1p"]:
            values = _log1p(values, feature)
        return row, values

    def _indicator_rows(
        self, frame: pd.DataFrame, position: int
    ) -> tuple[list[dict[str, object]], dict[str, np.ndarray]]:
        """Rows of the attribute category columns, with their fixed scale (module docstring);
        an attribute no customer has adds one row that says it was left out."""
        if self.settings.categorical_attributes and self.settings.scaler == "quantile":
            raise FeatureInputError(
                "segmentation.categorical_attributes needs the standard or robust scaler: the "
                "quantile scaler would reshape the 0/1 category columns"
            )
        rows: list[dict[str, object]] = []
        values: dict[str, np.ndarray] = {}
        for attribute, weight, names in attribute_indicators(frame, self.settings):
            if not names:
                position += 1
                rows.append(_left_out_attribute(attribute, position))
                continue
            for name in names:
                position += 1
                values[name] = _column(frame, name)
                rows.append(_indicator_row(name, position, values[name], weight))
        return rows, values

    def _exclude_constant_and_correlated(
        self, rows: list[dict[str, object]], transformed: dict[str, np.ndarray]
    ) -> None:
        kept: list[str] = []
        for row in rows:
            if not row["is_used"]:  # already left out (NULL for every customer)
                continue
            name = str(row["feature_name"])
            values = transformed[name]
            spread = float(np.var(values))
            if spread <= ZERO_VARIANCE_TOLERANCE * max(1.0, float(np.mean(values**2))):
                row["is_used"] = False
                clip_note = " after clipping" if self.settings.clip_quantiles is not None else ""
                row["exclusion_reason"] = (
                    f"zero variance{clip_note} (every customer has {float(values[0]):.6g})"
                )
                continue
            for other in kept:
                r = float(np.corrcoef(values, transformed[other])[0, 1])
                if abs(r) > self.settings.max_abs_correlation:
                    row["is_used"] = False
                    row["exclusion_reason"] = (
                        f"correlated with {other} (r={r:.3f}, above max_abs_correlation "
                        f"{self.settings.max_abs_correlation})"
                    )
                    break
            if row["is_used"]:
                kept.append(name)

    def _fit_scaler(
        self, rows: list[dict[str, object]], used: tuple[str, ...], matrix: np.ndarray
    ) -> None:
        scaler = self.settings.scaler
        self.quantile_ = None
        if scaler == "quantile":
            self.quantile_ = QuantileTransformer(
                n_quantiles=min(1000, matrix.shape[0]),
                output_distribution="normal",
                subsample=100_000,
                random_state=self.random_state,
            ).fit(matrix)
        by_name = {row["feature_name"]: row for row in rows}
        for j, name in enumerate(used):
            column = matrix[:, j]
            row = by_name[name]
            if "centre" in row:  # an attribute category column: its scale is fixed
                continue
            if scaler == "standard":
                centre, scale = float(np.mean(column)), float(np.std(column))
            elif scaler == "robust":
                q25, median, q75 = np.quantile(column, [0.25, 0.5, 0.75])
                centre, scale = float(median), float(q75 - q25)
                if scale <= 0.0:  # e.g. a mostly-zero share: the IQR is 0, the std is not
                    scale = float(np.std(column))
            else:
                centre, scale = math.nan, math.nan
            if name in self.settings.log1p_features and self.settings.log_scale_floor:
                scale = max(scale, self.settings.log_scale_floor)
            row["centre"], row["scale"] = centre, scale
        pca_used = self.settings.pca_components is not None
        for row in rows:
            row["scaler"] = scaler
            scorable = scaler != "quantile" and not pca_used
            row["is_sql_scorable"] = scorable
            row.setdefault("centre", None)
            row.setdefault("scale", None)
            if scaler == "quantile" or not row["is_used"]:
                row["centre"], row["scale"] = None, None
            row["sql_expression"] = _sql_expression(row) if row["is_used"] and scorable else None

    # -- applying --------------------------------------------------------------------------
    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The prepared matrix (rows in ``frame`` order, columns :attr:`feature_names_out_`)."""
        matrix = self._unscaled(frame)
        scaled = self._scale(matrix)
        if self.pca_ is not None:
            scaled = self.pca_.transform(scaled)
        return np.ascontiguousarray(scaled, dtype=np.float64)

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self.fit(frame).transform(frame)

    def outlier_counts(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row, how many used features were clipped to a bound (0 = not an outlier)."""
        counts = np.zeros(len(frame), dtype=np.int64)
        for row in self._used_rows():
            if row["clip_lower"] is None or pd.isna(row["clip_lower"]):
                continue
            values = _impute(frame, _column(frame, row["feature_name"]), row)
            counts += (values < row["clip_lower"]) | (values > row["clip_upper"])
        return counts

    def inverse_transform(self, matrix: np.ndarray) -> np.ndarray:
        """Map prepared points (e.g. centroids) back to original units of the used features.

        Undoes PCA, scaling and log1p; clipping and imputation cannot be undone (a point inside
        the bounds maps to itself).
        """
        values = np.asarray(matrix, dtype=float)
        if self.pca_ is not None:
            values = self.pca_.inverse_transform(values)
        if self.quantile_ is not None:
            values = self.quantile_.inverse_transform(values)
        else:
            rows = self._used_rows()
            centre = np.array([row["centre"] for row in rows], dtype=float)
            scale = np.array([row["scale"] for row in rows], dtype=float)
            values = values * scale + centre
        for j, row in enumerate(self._used_rows()):
            if row["is_log1p"]:
                values[:, j] = np.expm1(values[:, j])
        return values

    def _unscaled(self, frame: pd.DataFrame) -> np.ndarray:
        validate_features(frame, self.settings)
        gone = [row["feature_name"] for row in self._used_rows()]
        gone = [name for name in gone if name not in frame.columns]
        if gone:
            raise FeatureInputError(
                f"fct_customer_features lacks the model input column(s) {gone} (an attribute "
                "category the model was fitted on is gone from the data?); retrain the model"
            )
        columns = []
        for row in self._used_rows():
            values = _impute(frame, _column(frame, row["feature_name"]), row)
            if row["clip_lower"] is not None and not pd.isna(row["clip_lower"]):
                values = np.clip(values, row["clip_lower"], row["clip_upper"])
            if row["is_log1p"]:
                values = _log1p(values, row["feature_name"])
            columns.append(values)
        return np.column_stack(columns) if columns else np.empty((len(frame), 0))

    def _scale(self, matrix: np.ndarray) -> np.ndarray:
        if self.quantile_ is not None:
            return self.quantile_.transform(matrix)
        rows = self._used_rows()
        centre = np.array([row["centre"] for row in rows], dtype=float)
        scale = np.array([row["scale"] for row in rows], dtype=float)
        return (matrix - centre) / scale

    def _used_rows(self) -> list[dict[str, object]]:
        table = self.params_
        return [
            {key: python_scalar(value) for key, value in record.items()}
            for record in table[table["is_used"]].to_dict("records")
        ]

    # -- re-applying a stored fit ----------------------------------------------------------
    @classmethod
    def from_params(
        cls, params: pd.DataFrame, settings: PreparationSettings, random_state: int = 0
    ) -> FeaturePreparer:
        """Rebuild a fitted preparer from its parameter table, without refitting.

        Only SQL-scorable fits (standard/robust scaler, no PCA) can be rebuilt; otherwise a
        ``ValueError`` says so (refit with :meth:`fit` on the same data instead).
        """
        missing = [column for column in PARAM_COLUMNS if column not in params.columns]
        if missing:
            raise ValueError(f"transform parameter table lacks column(s) {missing}")
        if len(params) == 0:
            raise ValueError("transform parameter table is empty: nothing was fitted")
        if not bool(params["is_sql_scorable"].all()):
            raise ValueError("quantile scaler or PCA fits cannot be rebuilt from the table")
        preparer = cls(settings, random_state)
        table = params.sort_values("feature_position").reset_index(drop=True)
        table["is_used"] = table["is_used"].astype(bool)
        table["is_log1p"] = table["is_log1p"].astype(bool)
        preparer.params_ = table
        preparer.used_features_ = tuple(table.loc[table["is_used"], "feature_name"])
        preparer.feature_names_out_ = preparer.used_features_
        preparer.quantile_ = None
        preparer.pca_ = None
        return preparer


def attribute_indicators(
    frame: pd.DataFrame, settings: PreparationSettings
) -> list[tuple[str, float, list[str]]]:
    """Per attribute of ``settings.categorical_attributes``: its weight and its category columns
    in ``frame`` (in the frame's order; none when no customer has the attribute)."""
    return [
        (
            attribute,
            weight,
            [name for name in frame.columns if str(name).startswith(indicator_prefix(attribute))],
        )
        for attribute, weight in settings.categorical_attributes
    ]


def _used_row(name: str, position: int, missing: int) -> dict[str, object]:
    """The start of a feature's parameter row: used, nothing imputed yet."""
    return {
        "feature_name": name,
        "feature_position": position,
        "is_used": True,
        "exclusion_reason": None,
        "imputation_rule": "none",
        "imputation_column": None,
        "imputation_value": None,
        "missing_count": missing,
    }


def _indicator_row(
    name: str, position: int, values: np.ndarray, weight: float
) -> dict[str, object]:
    return {
        **_used_row(name, position, int(np.isnan(values).sum())),
        "clip_lower": None,
        "clip_upper": None,
        "clipped_low_count": 0,
        "clipped_high_count": 0,
        "is_log1p": False,
        "centre": 0.0,
        "scale": math.sqrt(2.0) / weight,
    }


def _left_out_attribute(attribute: str, position: int) -> dict[str, object]:
    return {
        **_indicator_row(indicator_prefix(attribute).rstrip("_"), position, np.zeros(0), 1.0),
        "is_used": False,
        "exclusion_reason": (
            f"no customer has the attribute {attribute} (load the customer attributes, or take "
            "it out of segmentation.categorical_attributes)"
        ),
        "centre": None,
        "scale": None,
    }


def _imputation_columns(settings: PreparationSettings) -> list[str]:
    return [rule for _, rule in settings.imputation if isinstance(rule, str) and rule != "median"]


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _impute(frame: pd.DataFrame, raw: np.ndarray, row: dict[str, object]) -> np.ndarray:
    nulls = np.isnan(raw)
    if not nulls.any():
        return raw
    values = raw.copy()
    if row["imputation_rule"] == "column":
        source = _column(frame, str(row["imputation_column"]))
        values[nulls] = source[nulls]
    elif row["imputation_rule"] == "constant":
        values[nulls] = float(row["imputation_value"])
    still = np.isnan(values)
    if still.any():
        raise FeatureInputError(
            f"column {row['feature_name']} stays NULL after imputation for customer_id "
            f"{_examples(frame[ID_COLUMN][still])}"
        )
    return values


def _log1p(values: np.ndarray, feature: str) -> np.ndarray:
    if values.size and float(values.min()) <= -1.0:
        raise FeatureInputError(
            f"column {feature} has values <= -1 (min {float(values.min()):.6g}) after clipping: "
            "ln(1 + x) is undefined; remove it from segmentation.log1p_features"
        )
    return np.log1p(values)


def _sql_expression(row: dict[str, object]) -> str:
    expression = str(row["feature_name"])
    if row["imputation_rule"] == "column":
        expression = f"coalesce({expression}, {row['imputation_column']})"
    elif row["imputation_rule"] == "constant":
        expression = f"coalesce({expression}, {_sql_number(row['imputation_value'])})"
    if row["clip_lower"] is not None:
        expression = (
            f"least(greatest({expression}, {_sql_number(row['clip_lower'])}), "
            f"{_sql_number(row['clip_upper'])})"
        )
    if row["is_log1p"]:
        expression = f"ln(1 + {expression})"
    return f"({expression} - {_sql_number(row['centre'])}) / {_sql_number(row['scale'])}"


def _sql_number(value: object) -> str:
    return repr(float(value))


def _params_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame([{column: row.get(column) for column in PARAM_COLUMNS} for row in rows])
    for column in ("imputation_value", "clip_lower", "clip_upper", "centre", "scale"):
        frame[column] = frame[column].astype("float64")
    for column in ("feature_position", "missing_count", "clipped_low_count", "clipped_high_count"):
        frame[column] = frame[column].astype("int64")
    for column in ("is_used", "is_log1p", "is_sql_scorable"):
        frame[column] = frame[column].astype(bool)
    return frame


def _examples(ids: pd.Series, limit: int = 3) -> str:
    values = [str(value) for value in ids.head(limit)]
    more = f" (+{len(ids) - limit} more)" if len(ids) > limit else ""
    return ", ".join(values) + more
