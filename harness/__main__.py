"""`cors-matrix ...` as `python -m cors_matrix ...` (or `python -m harness ...` in the
checkout); see cli.py."""

from .cli import main

raise SystemExit(main())
