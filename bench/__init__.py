"""Benchmarks: each module measures ours against a baseline in the same run.

A benchmark module exposes ``run(quick: bool = False) -> None`` and prints its
results; ``python -m bench`` runs them all (``python -m bench NAME…`` some).
They are not part of the test run: speed goals are ratios, checked by eye.
"""
