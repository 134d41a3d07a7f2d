"""Allow ``python -m console`` as well as the ``masterdeck`` script."""

import sys

from console.cli import main

sys.exit(main())
