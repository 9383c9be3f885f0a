"""Stopping on SIGINT/SIGTERM without deadlocking.

A Python signal handler runs in the main thread between two bytecodes, possibly while that thread holds the
lock inside ``threading.Event.wait()``; calling ``event.set()`` from the handler would then wait for a lock its
own thread holds, forever (seen: `provenance up` ignoring SIGTERM). The handler only starts a thread that sets
the event once the main thread lets go of the lock.
"""

from __future__ import annotations

import signal
import threading


def stop_on_signals(stop: threading.Event, received: list[int] | None = None) -> None:
    def handler(signum: int, _frame: object) -> None:
        if received is not None:
            received.append(signum)
        threading.Thread(target=stop.set, name="stop-on-signal", daemon=True).start()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
