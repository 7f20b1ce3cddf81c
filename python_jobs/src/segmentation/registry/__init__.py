"""The model's lifecycle: the run log, each version as data, the tables read back from it, drift
against the kept model and the monitoring tables."""
