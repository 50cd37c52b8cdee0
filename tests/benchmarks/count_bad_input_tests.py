"""Count the collected tests that feed bad input and check the refusal: tests whose source,
or the source of a module-level helper they call, asserts an error (pytest.raises, exit code
2) or a warning (pytest.warns), or that take a table of bad cases (BAD_...). The same rule
counts any checkout: run from its root, python tests/benchmarks/count_bad_input_tests.py
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from typing import Any

import pytest

REFUSAL = re.compile(r"pytest\.raises|pytest\.warns|returncode == 2|exits_2|BAD_")


class Collector:
    def __init__(self) -> None:
        self.items: list[pytest.Item] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.items = list(session.items)


def _source(function: Any) -> str:
    """The test's source and that of the module-level functions it names (one level)."""
    own = inspect.getsource(function)
    module = inspect.getmodule(function)
    helpers = [getattr(module, name) for name in re.findall(r"\b(\w+)\(", own)
               if inspect.isfunction(getattr(module, name, None))
               and getattr(module, name) is not function]
    return own + "".join(inspect.getsource(helper) for helper in helpers)


def main() -> int:
    sys.path.insert(0, os.getcwd())  # the tests import tests.conftest
    collector = Collector()
    pytest.main(["--collect-only", "-q", "tests", "-p", "no:cacheprovider"], plugins=[collector])
    bad = [item for item in collector.items
           if isinstance(item, pytest.Function) and REFUSAL.search(_source(item.function))]
    print(f"bad-input tests: {len(bad)} of {len(collector.items)} collected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
