"""The one exception every boosttune input or configuration problem raises, and the helper
that quotes a library's error in one line."""


class BoostTuneError(ValueError):
    """Bad input or configuration: the message names the problem and how to fix it."""


def first_line(text: object, fallback: str = "no reason given") -> str:
    """The first non-blank line of an error or a log: what a message quotes of a library."""
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[0].strip() if lines else fallback
