"""Benchmarks and the effect experiment; a package so that tests import their modules."""
