"""`python -m exporter` is the same command as `python build.py`."""

from exporter.cli import main

main()
