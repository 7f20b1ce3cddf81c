"""The model fit beside dbt, for warehouses whose dbt adapter cannot run Python models.

dbt runs the project's Python models (``models/ml/**``, three in ``models/monitoring``) on
DuckDB, Databricks, Snowflake and BigQuery. dbt-postgres and dbt-spark's ``session`` method
cannot; there ``segmentation fit-model --target <target>`` runs the same model files, in dbt's
dependency order, against the warehouse:

- :mod:`.plan` reads the Python models, their inputs and their configuration from dbt's
  manifest (``dbt parse`` for the target) and orders them;
- :mod:`.sample` is the bounded, deterministic sample of ``fct_customer_features`` that the
  fit reads instead of the whole table;
- :mod:`.runner` calls every model's ``model(dbt, session)`` with a stand-in for dbt's
  objects: ``dbt.ref()`` gives the sample, a table of the warehouse or a table made earlier in
  the same run; ``dbt.config.get()`` gives the model's configuration from the manifest;
- :mod:`.warehouses` reads through the engine's own client (psycopg2, a Spark session, DuckDB)
  and writes every table at the end, staged and swapped, so a failed fit leaves the last
  good tables in place.

``dbt build`` then does the rest in SQL: ``ml_customer_assignments`` scores every customer with
the kept model, the marts and every data test run as on DuckDB (the Python models' nodes use
the ``fit_model_table`` materialization there, which only checks that the table exists).
"""
