"""Build notes/ into dist/: `python build.py`, or `python build.py --help`."""
from exporter.cli import main

# The guard matters: sheet workers start by "spawn", which imports this file again.
if __name__ == "__main__":
    main()
