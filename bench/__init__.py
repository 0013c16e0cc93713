"""Benchmarks of mailflow: `python -m bench` (or `make bench`) prints medians and ratios."""
