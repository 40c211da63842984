import sys

from chipmix.cli import main

sys.exit(main())
