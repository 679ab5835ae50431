"""Benchmarks for agentmem. ``python -m benchmarks store`` runs the storage benchmark.

See ``benchmarks/README.md`` for what it measures and how to read the results.
"""
