"""cors-matrix: what really crosses the origin boundary, observed in real browser engines.

Installed, this package is `cors_matrix` (setuptools maps it from the checkout's `harness/`
folder); inside the checkout, `python -m harness` imports the same files as `harness`.
PACKAGE is whichever name this copy was imported under: subprocesses (`-m PACKAGE.host`) and
package resources use it, so neither name is ever assumed.
"""

PACKAGE = __name__
