"""Runners of the evaluation suites: they take their parts from the composition root."""
