"""``python -m matcher.cli``: the ``matcher`` command."""

from matcher.cli.commands import main

__all__: list[str] = []

raise SystemExit(main())
