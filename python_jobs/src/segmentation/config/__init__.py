"""Settings read from the dbt vars, and their checks: the clustering (``segmentation``), the
evaluation (``evaluation``), the retraining policy (``retraining_policy``), one shared checker
(:mod:`segmentation.config.validation`) and the check of every var before dbt runs
(:mod:`segmentation.config.varcheck`)."""
