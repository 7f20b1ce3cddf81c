"""How far to trust a kept model: stability, prediction strength, seed agreement and per-customer
fit (:mod:`~segmentation.evaluation.metrics`), and the tables the dbt models write from them."""
