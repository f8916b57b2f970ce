"""cors-matrix: what really crosses the origin boundary, observed in real browser engines.

Installed, this package is `cors_matrix` (setuptools maps it from the checkout's `harness/`
folder); inside the checkout, `python -m harness` imports the same files as `harness`.
PACKAGE is whichever name this copy was imported under: subprocesses (`-m PACKAGE.serve.host`)
use it, so neither name is ever assumed.

One subpackage per stage a cell travels, each importing only the stages before it:
spec -> scenario -> serve -> engines -> judge -> run -> report, then check and cli on top
(docs/architecture.md).
"""

PACKAGE = __name__
