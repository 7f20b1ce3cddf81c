"""Segments in words: feature roles, profiles against all customers, personas, one readable rule
per segment and the fidelity of a surrogate tree."""
