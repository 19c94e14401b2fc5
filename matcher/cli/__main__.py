"""``python -m matcher.cli``: the ``matcher`` command."""

from matcher.cli.main import main

raise SystemExit(main())
