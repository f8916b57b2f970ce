"""The pytest plugin (entry point `pytest11: cors_matrix`): scenario files become test items.

A scenario file is a `test_*.toml` with a `[[probe]]` table, or any `test_*.toml` under a folder
named by the `cors_scenarios` ini option; other TOML files are the project's own data. Each
(scenario, probe, browser) is one item, id `path/test_x.toml::probe-name[chromium]`. Session
fixtures start the expensive things once (the host process with every scenario's API, the
engines); each cell gets a fresh page, a fresh token, and writes one JSON line the moment it
finishes.

The plugin lives inside other people's test suites, so it is inert until used: options are
all `--cors-*`, and nothing is started, no signal handler changed and no process ended in a
session that runs no cell and calls no `cors_check`. Then only processes cors-matrix itself
started carry the reaper's mark.
"""

from . import PACKAGE

# One module per job, registered in import order (each imports only those before it, so
# pytest can still rewrite their asserts): the options, the results file, the collection of
# scenario files into cells, the session fixtures that run them, and `cors_check`.
pytest_plugins = [f"{PACKAGE}.{name}" for name in ("run.options", "run.results_file", "run.collect",
                                                   "run.fixtures", "check.fixtures")]  # fmt: skip
