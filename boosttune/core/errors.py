"""The one exception every boosttune input or configuration problem raises (and its kind for
a bad option value), with the helpers that quote a library's error in one line and suggest
the closest valid name."""

from collections.abc import Iterable
from difflib import get_close_matches


class BoostTuneError(ValueError):
    """Bad input or configuration: the message names the problem and how to fix it."""


def first_line(text: object, fallback: str = "no reason given") -> str:
    """The first non-blank line of an error or a log: what a message quotes of a library."""
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[0].strip() if lines else fallback


class OptionError(BoostTuneError):
    """A bad option value. Each front end names the option in its own words (``named``): the
    parameter for ``tune()`` and the estimators, the flag or the config key for the CLI."""

    def __init__(self, option: str, requirement: str, value: object, hint: str = "",
                 optional: bool = False, label: str | None = None) -> None:
        self.option, self.requirement, self.value, self.hint = option, requirement, value, hint
        self.optional = optional
        super().__init__(self.named(label or f"The '{option}' parameter", optional))

    def named(self, label: str, optional: bool = False) -> str:
        """The message with the option called ``label`` ('--trials', '[search] n_trials')."""
        unset = " or None" if optional else ""
        return f"{label} {self.requirement}{unset}; got {self.value!r} instead{self.hint}."


def did_you_mean(value: object, choices: Iterable[object]) -> str:
    """' (did you mean 'x'?)' for the closest choice to a misspelt value, else ''; a choice
    that differs only in case comes first."""
    names = [str(c) for c in choices]
    same_case = [c for c in names if c.lower() == str(value).lower()]
    hint = same_case or get_close_matches(str(value), names, n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


class ShiftWarning(UserWarning):
    """The test rows differ from the training rows (adversarial validation)."""


class BusyMachineWarning(UserWarning):
    """Other processes keep some of the CPUs busy: the run trains with fewer threads."""


class BudgetWarning(UserWarning):
    """The budget held less than the run needed: what it delivers is said in the message."""
