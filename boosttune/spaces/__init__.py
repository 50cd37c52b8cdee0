"""Search spaces: the SearchSpace type, its dimensions, and the presets."""

from boosttune.spaces.base import Categorical, Dimension, Float, Int, SearchSpace
from boosttune.spaces.presets import TIERS, for_device, preset

__all__ = ["TIERS", "Categorical", "Dimension", "Float", "Int", "SearchSpace", "for_device",
           "preset"]
