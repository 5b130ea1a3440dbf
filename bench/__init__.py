"""The benchmark: `python -m bench` (see run.py). Not a test; it prints a table."""
