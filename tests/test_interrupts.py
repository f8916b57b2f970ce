"""Ctrl-C while Playwright's loop runs a task must leave Playwright usable (harness/interrupts.py).

Without the handler, Python raises KeyboardInterrupt inside whichever task the loop runs, that
task dies, and the next call waits forever: measured here, the 5th of 200 interrupts hung. The
child process below interrupts itself 150 times during a stream of page.evaluate calls and
checks after each that a new call answers; an alarm ends it with exit 3 when one hangs.
"""

import subprocess
import sys
from pathlib import Path

from harness.engines import SYSTEM_CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
INTERRUPTED_CALLS = """
import os, random, signal, sys, threading, time
from playwright.sync_api import sync_playwright
from harness import interrupts

assert interrupts.install()
random.seed(7)
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=sys.argv[1], args=["--no-sandbox"])
    page = browser.new_page()
    page.on("console", lambda message: None)  # event traffic for the loop to be busy with
    interrupted = 0
    for attempt in range(150):
        timer = threading.Timer(random.uniform(0.001, 0.05),
                                lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        try:  # busy until the signal lands, however late a loaded machine delivers it
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                page.evaluate("console.log('busy'); 1")
        except KeyboardInterrupt:
            interrupted += 1
        timer.join()
        alarm = threading.Timer(10, lambda: (print(f"hung after {attempt} interrupts",
                                                    flush=True), os._exit(3)))
        alarm.start()
        assert page.evaluate("1 + 1") == 2
        alarm.cancel()
    browser.close()
print(f"{interrupted} interrupted")
"""


def test_playwright_stays_usable_after_150_interrupts(tmp_path):
    script = tmp_path / "interrupted_calls.py"
    script.write_text(INTERRUPTED_CALLS)
    run = subprocess.run([sys.executable, str(script), SYSTEM_CHROMIUM], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert run.stdout.strip() == "150 interrupted", run.stdout


def test_only_the_default_handler_is_replaced():
    import signal

    from harness import interrupts

    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGINT, mine)
    try:
        assert not interrupts.install()
        assert signal.getsignal(signal.SIGINT) is mine
        signal.signal(signal.SIGINT, signal.default_int_handler)
        assert interrupts.install()
        interrupts.uninstall()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
