"""The pipeline benchmark behind ``segmentation bench``.

Modules: ``data`` (the sizes, demo logs written once as Parquet, and the next day's file),
``measure`` (wall time and OS-measured peak memory of a child process), ``pipeline`` (the real
pipeline run stage by stage), ``floor`` (the same-work floor, ``same_work_floor.sql``, and its
check against the feature mart), ``references`` (the floor and the notebook baseline, each run
as a measured process), ``report`` (the table as text, CSV and Markdown) and ``runner`` (all of
it for each size). The clustering engine alone on synthetic features is measured by
``segmentation.benchmark.selection``.
"""
