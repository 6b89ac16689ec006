"""Metrics, ranking, tables, statistics and figures built from run results."""
