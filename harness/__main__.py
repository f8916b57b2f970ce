"""`python -m harness ...` (see harness/cli.py)."""

from .cli import main

raise SystemExit(main())
