"""Helpers the tests and benchmarks import by package path (fixtures stay in conftest.py files)."""
