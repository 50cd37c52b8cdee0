"""The one exception every boosttune input or configuration problem raises."""


class BoostTuneError(ValueError):
    """Bad input or configuration: the message names the problem and how to fix it."""
