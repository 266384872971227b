"""`python -m nst_engine` is the same as the `nst-engine` command."""

import sys

from .cli import main

sys.exit(main())
