"""SIGTERM must stop a loop even when it lands while the main thread holds the stop event's lock (inside
Event.wait()). A handler that called Event.set() itself deadlocked there: `provenance up` once ignored SIGTERM."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

SCENARIO = """
import signal, threading
from ledger.runtime.signals import stop_on_signals
stop = threading.Event()
received = []
stop_on_signals(stop, received)
with stop._cond:  # what Event.wait() holds between its bytecodes
    signal.raise_signal(signal.SIGTERM)  # the handler runs now, in this thread
print("stopped" if stop.wait(5) and received == [signal.SIGTERM] else "not stopped")
"""


def test_signal_inside_the_events_critical_section_still_stops() -> None:
    try:
        result = subprocess.run([sys.executable, "-c", SCENARIO], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired as exc:  # the old handler hangs here (and ignores SIGTERM: killed by run())
        raise AssertionError("the signal handler deadlocked") from exc
    assert result.stdout.strip() == "stopped", result.stderr
