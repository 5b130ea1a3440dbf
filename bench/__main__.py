"""`python -m bench`: the performance table (bench/run.py)."""

import sys

from bench.run import main

sys.exit(main())
