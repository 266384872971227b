"""Cancellation: SIGTERM, SIGINT, or the parent closing our stdin stop the run at the next step."""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading


class Cancellation:
    """A flag set from signal handlers or a stdin watcher; the optimiser polls it every step."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def __call__(self) -> bool:
        return self._event.is_set()

    def cancel(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def install(self) -> None:
        """Handle SIGTERM/SIGINT, and watch stdin when it is a pipe (a terminal or /dev/null is not)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda number, _frame: self.cancel(signal.Signals(number).name))
        if stdin_is_pipe():
            threading.Thread(target=self._watch_stdin, name="stdin-watch", daemon=True).start()

    def _watch_stdin(self) -> None:
        try:
            while os.read(sys.stdin.fileno(), 4096):
                pass
        except OSError:
            pass
        self.cancel("stdin closed")


def stdin_is_pipe() -> bool:
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
