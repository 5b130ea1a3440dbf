"""`python -m exporter` is the same command as `python build.py`."""

from exporter.cli import main

# Spawned worker processes import the main module again; only the real run builds.
if __name__ == "__main__":
    main()
