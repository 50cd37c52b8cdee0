"""The clock budgets and fit times are read from: ``time.perf_counter``. A test replaces
``now`` with a clock it controls, so that what a budget decides (which trial is cut, how
many rungs are climbed) does not depend on how fast or busy the machine is."""

import time


def now() -> float:
    """Seconds on the run's clock."""
    return time.perf_counter()
