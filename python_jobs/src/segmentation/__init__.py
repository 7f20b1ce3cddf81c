"""Customer segmentation: data loading, clustering and reporting jobs beside the dbt project."""

__version__ = "0.1.0"
