"""Build notes/ into dist/: `python build.py`, or `python build.py --help`."""
from exporter.cli import main

main()
