"""``python -m greenvoc``: the console script (what ``-X importtime`` profiles)."""

import sys

from greenvoc.cli import main

sys.exit(main())
