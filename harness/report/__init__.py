"""Stage 6, the report: results files merged into one grid (`merge`), each cell as a reader
sees it (`cell_view`), the sections beside the grid (`sections`; the guide's claims checked in
`claims`), all rendered as HTML and JUnit (`html`), and the Starlette releases page
(`releases_doc`). Computed from records only, never from live objects.
"""

from .html import write_junit, write_report
from .merge import merge

__all__ = ["merge", "write_junit", "write_report"]
