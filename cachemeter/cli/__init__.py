"""The `cachemeter` command (console script `cachemeter.cli:main`): one module per command
group."""

from cachemeter.cli.main import main

__all__ = ["main"]
