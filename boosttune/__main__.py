"""``python -m boosttune`` is the ``boosttune`` command."""

import sys

from boosttune.cli import main

sys.exit(main())
