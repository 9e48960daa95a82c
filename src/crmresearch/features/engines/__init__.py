"""Aggregation engines: ``duckdb`` (embedded, single machine, default) and ``spark`` (optional).

Both expose the same small interface (``view``, ``dialect``, ``columns``, ``label``,
``fetch_one``, ``to_pandas``, ``distinct_values``, ``register_codes``, ``progress``, ``close``)
that :mod:`crmresearch.features.compute` and :mod:`crmresearch.features.instats` use.
"""
