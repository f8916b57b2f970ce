"""`make grid`: a local Selenium Grid 4 for development (harness/engines/grid.py), until Ctrl-C.

    python scripts/grid.py [--netns] [--chromium-nodes N] [--workdir DIR]

--netns puts the nodes in a network namespace of their own (root), so their browsers cannot
reach this machine's loopback, as on a real grid. Prints the pytest options that use it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cors_matrix.engines import grid  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/grid.py")
    parser.add_argument("--netns", action="store_true", help="nodes in their own namespace")
    parser.add_argument("--chromium-nodes", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="logs and node configs")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cors-matrix-grid-"))
    try:
        running = grid.start(workdir, netns=args.netns, nodes={"chromium": args.chromium_nodes})
    except grid.GridError as exc:
        print(f"grid: {exc}", file=sys.stderr)
        return 3
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        print(f"grid up: hub {running.hub}, nodes {', '.join(running.node_uris.values())}; "
              f"logs in {workdir}")  # fmt: skip
        proxy = f" --cors-remote-proxy {running.proxy_bind}" if args.netns else ""
        print(f"use it: .venv/bin/pytest scenarios/ --cors-grid {running.hub}{proxy}")
        print("Ctrl-C stops it", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
