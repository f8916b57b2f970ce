"""`cors-matrix check`: the user's own app, run as it runs, probed from its frontends and
from attacker origins in real engines. One module per job:

    options.py     the command line, parsed; one-line usage errors
    serve_app.py   runs module:app in the user's interpreter and reports its CORS config
    app_server.py  the app's process (module:app, --serve COMMAND, or an object here)
    relay.py       the API origin: TLS, the ledger, then the app's process unchanged
    discovery.py   endpoints from the app's OpenAPI schemas
    login.py       --login over HTTP: verified, and how the app authenticates
    corpus.py      attacker origins: scanner classes plus the app's own config
    prescan.py     every origin x endpoint over HTTP, before any browser
    battery.py     the requests, shaped like the real frontend's
    browsers.py    the cells in the engines
    explain.py     why a request was unreadable, from what the server sent
    fixes.py       the CORSMiddleware keyword change that fixes it, where the config is known
    verdict.py     severity, root causes, the printed verdict and exit code
    result.py      the CheckResult that check_app and `cors_check` return
    report.py      the check's HTML report
    run.py         all of it in order
"""

from .corpus import for_frontend as attacker_origins
from .options import UsageError, parse_origin
from .result import CheckResult
from .run import check_app, run_check

__all__ = [
    "run_check",
    "check_app",
    "CheckResult",
    "parse_origin",
    "attacker_origins",
    "UsageError",
]
