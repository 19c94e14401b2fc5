"""The ``matcher`` command: ``matcher plan``, ``report``, ``scenario``, ``serve`` ...

``python -m matcher.cli`` runs it too."""

from matcher.cli.commands import main

__all__ = ["main"]
