"""`python -m exporter` is the same command as `python build.py`."""

from exporter.cli import main

# Worker processes (spawned, or forked by the fork server) import the main module again;
# only the real run builds.
if __name__ == "__main__":
    main()
