"""Subcommands of the ``greenvoc`` console script: argument parsing and printing only."""
