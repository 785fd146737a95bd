"""``python -m journeygraph``: the command line (see `journeygraph.cli`)."""

from .cli import main

raise SystemExit(main())
