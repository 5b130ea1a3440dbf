"""Build notes/ into dist/: `python build.py`, or `python build.py --help`."""
from exporter.cli import main

# The guard matters: a sheet worker (spawned, or forked by the fork server) imports this
# file again.
if __name__ == "__main__":
    main()
