"""``python -m chipmix``: the command line (:mod:`chipmix.cli`)."""

import sys

from chipmix.cli import main

sys.exit(main())
