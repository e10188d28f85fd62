"""Metered training of the zoo's vocoder families (``greenvoc train``).

data (segments of a corpus) → steps (a recipe's models, losses and optimisers) → loop (every
step in an energy-meter window, database + CSV, checkpoints, budget) → validate, projection,
report.
"""

from greenvoc.train.loop import TrainConfig, TrainSummary, train
from greenvoc.train.recipes import RECIPES, TrainRecipe, get_recipe

__all__ = ["RECIPES", "TrainConfig", "TrainRecipe", "TrainSummary", "get_recipe", "train"]
