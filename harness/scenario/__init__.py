"""Stage 1, the scenario: the TOML format a cell is made of (`format` loads a file; its
`[server]` table is `server_table`, each `[[probe]]` is `probe_table`, on the shared pieces of
`strict`), the named origins a probe runs from (`origins`), the API's fixed endpoints
(`endpoints`) and what each proxy variant does (`proxy`).

The format's public names are here, so a caller writes `from cors_matrix.scenario import Probe`.
"""

from .format import Scenario, load_scenario, parse_scenario, theme_of
from .probe_table import CookieSpec, Probe
from .server_table import CORS_KWARGS, RECONFIGURABLE_SHAPE
from .strict import ScenarioError

__all__ = ["CORS_KWARGS", "RECONFIGURABLE_SHAPE", "CookieSpec", "Probe", "Scenario",
           "ScenarioError", "load_scenario", "parse_scenario", "theme_of"]  # fmt: skip
