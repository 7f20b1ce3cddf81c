"""From customer features to a scorable model: preparation, candidate algorithms, their scores,
the selection rules (separation and actionable), the fit and SQL-equivalent scoring."""
