"""Screenshot of a generated report's first screen (the README's docs/report.png).

.venv/bin/python scripts/screenshot_report.py report/index.html docs/report.png
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cors_matrix.engines import EnginePool  # noqa: E402


def main(report: str, out: str) -> int:
    pool = EnginePool()
    try:
        page = pool.get("chromium", "block-third-party").new_page()
        page.goto(Path(report).resolve().as_uri())
        raw = page._page  # the Playwright page, used on the pool's Playwright thread
        pool.call(raw.set_viewport_size, {"width": 1400, "height": 900})
        pool.call(lambda: raw.screenshot(path=out))
        page.close()
    finally:
        pool.close()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))
