"""Ctrl-C while Playwright's loop runs a task must leave Playwright usable
(harness/run/interrupts.py).

Without the handler, Python raises KeyboardInterrupt inside whichever task the loop runs, that
task dies, and the next call waits forever: measured here, the 5th of 200 interrupts hung. The
child process below interrupts itself 150 times during a stream of page.evaluate calls and
checks after each that a new call answers; an alarm ends it with exit 3 when one hangs.
"""

import subprocess
import sys
from pathlib import Path

from cors_matrix.engines import SYSTEM_CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
INTERRUPTED_CALLS = """
import os, random, signal, sys, threading, time
from playwright.sync_api import sync_playwright
from cors_matrix.run import interrupts

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
        try:  # busy until the signal lands, however late a loaded machine delivers it
            timer.start()  # inside: on a loaded machine the signal can land while it starts
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

    from cors_matrix.run import interrupts

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


def test_an_interrupt_during_an_import_is_delivered_once_the_import_is_done(tmp_path):
    """KeyboardInterrupt raised inside an import's compile() can surface as SystemError; the
    handler defers it until the import is over, and it still arrives."""
    module = tmp_path / "slow_module.py"
    module.write_text("import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\n"
                      "time.sleep(0.3)\nDONE = True\n")  # fmt: skip
    script = tmp_path / "importer.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path[:0] = [{str(ROOT)!r}, {str(tmp_path)!r}]\n"
        "from cors_matrix.run import interrupts\n"
        "interrupts.install()\n"
        "try:\n"
        "    import slow_module\n"
        "    time.sleep(2)\n"
        "    print('no interrupt')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted after the import' if 'slow_module' in sys.modules\n"
        "          and sys.modules['slow_module'].DONE else 'interrupted inside it')\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=30)  # fmt: skip
    assert out.stdout.strip() == "interrupted after the import", out.stdout + out.stderr
