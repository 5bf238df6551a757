"""`python -m cachemeter …`, the same as the console script."""

import sys

from cachemeter.cli.main import main

sys.exit(main())
