"""The same project on other warehouses: PostgreSQL and Apache Spark beside DuckDB.

``python -m segmentation.engines`` (``make test-engines``) proves that the SQL of the project
gives DuckDB's numbers on each engine. It builds the demo log on DuckDB, then on a throwaway
PostgreSQL cluster (:mod:`.postgres`) and in a local Spark session (:mod:`.spark`), appends
one more day and builds again, and compares ``fct_customer_features`` value by value
(:mod:`.compare`). The steps are in :mod:`.harness`.

dbt runs Python models on DuckDB here, not on these two engines: there the model fit runs beside
dbt (``segmentation fit-model``, :mod:`segmentation.warehouse_fit`), and every customer's
segment is compared with DuckDB's too. Only the raw log travels from DuckDB
(:mod:`.transfer`), as a user's warehouse would already hold it.
"""
