"""The search's progress display, fitted to where it lands: a widget in a notebook that can
show one, a bar in a terminal (or a notebook without ipywidgets, which renders carriage
returns), and plain lines elsewhere, so that logs of jobs and CI get no carriage-return spam."""

from __future__ import annotations

import importlib.util
import sys
import time
from typing import Any, Protocol

LOG_EVERY = 30.0  # seconds between two plain lines


class Progress(Protocol):
    def update(self, n: int = 1) -> Any: ...
    def set_postfix(self, *, refresh: bool = True, **values: Any) -> Any: ...
    def close(self) -> Any: ...


def progress_bar(total: int | None, initial: int, desc: str, enabled: bool) -> Progress:
    """The display for a search of ``total`` trials (None: open-ended), ``initial`` done."""
    if not enabled:
        return Lines(total, initial, desc, enabled=False)
    if in_notebook():
        if importlib.util.find_spec("ipywidgets") is not None:
            from tqdm.notebook import tqdm as widget
            return widget(total=total, initial=initial, desc=desc, unit="trial")
    elif not sys.stderr.isatty():
        return Lines(total, initial, desc)
    from tqdm.std import tqdm as text
    return text(total=total, initial=initial, desc=desc, unit="trial", leave=True)


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (Kaggle, Colab, JupyterLab)."""
    shell = sys.modules.get("IPython")
    found = getattr(shell, "get_ipython", lambda: None)() if shell is not None else None
    return found is not None and "IPKernelApp" in getattr(found, "config", {})


class Lines:
    """Progress as plain lines on stderr: one at most every LOG_EVERY seconds, one at the end."""

    def __init__(self, total: int | None, initial: int, desc: str, enabled: bool = True):
        self.total, self.done, self.desc, self.enabled = total, initial, desc, enabled
        self.best: str | None = None
        self.printed = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.done += n
        if time.monotonic() - self.printed >= LOG_EVERY:
            self._print()

    def set_postfix(self, *, refresh: bool = True, **values: Any) -> None:
        self.best = ", ".join(f"{k} {v}" for k, v in values.items())

    def close(self) -> None:
        self._print()
        self.enabled = False

    def _print(self) -> None:
        if not self.enabled:
            return
        of = "" if self.total is None else f"/{self.total}"
        best = "" if self.best is None else f"; {self.best}"
        print(f"{self.desc}: {self.done}{of} trials{best}", file=sys.stderr, flush=True)
        self.printed = time.monotonic()
