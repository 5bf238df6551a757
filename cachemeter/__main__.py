"""`python -m cachemeter …`, the same as the console script."""

import sys

from cachemeter.cli import main

sys.exit(main())
