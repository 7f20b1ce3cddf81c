"""The pipeline benchmark behind ``segmentation bench``.

Modules: ``sizes`` (what to generate), ``measure`` (wall time and OS-measured peak memory of
a child process), ``data`` (demo logs written once as Parquet, and the next day's file),
``pipeline`` (the real pipeline run stage by stage), ``references`` (the floor and the
notebook baseline), ``report`` (the table as text, CSV and Markdown) and ``runner`` (all of it
for each size). The clustering engine alone on synthetic features is measured by
``segmentation.benchmark.selection``.
"""
