"""Reliability suites: faults, concurrency, isolation and bad input, on real servers."""
