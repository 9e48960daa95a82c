"""Aggregation engines: ``duckdb`` (single machine, default)."""
