"""The trainer's view of the machine: hardware, BLAS, memory estimates and recommended settings.

Import the submodules directly; this package imports nothing so that `scripts/use_fast_blas.py` stays light.
"""
