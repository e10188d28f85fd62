"""Building blocks shared by the families: one concept per module."""
