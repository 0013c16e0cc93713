"""Pulumi entry point: see mailflow/program.py."""

from mailflow.program import run

run()
