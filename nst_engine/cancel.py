"""Cancelling and finishing early, asked for from outside the run while it optimises.

Cancel (SIGTERM, SIGINT, or the parent closing stdin): stop at the next step and write nothing.
Finish (a line `finish` on stdin): stop optimising at the next step and write the image as it is,
so that a painter who likes the preview need not wait for the rest (docs/protocol.md).
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading

FINISH_COMMAND = b"finish"


class RunControl:
    """What the optimiser asks before every evaluation: cancel (stop, write nothing) or finish
    (stop, write the image as it is). This base asks for neither: scripts, tests and benchmarks
    that run to the end pass nothing and get `UNINTERRUPTED`."""

    def cancelled(self) -> bool:
        return False

    def finishing(self) -> bool:
        return False


UNINTERRUPTED = RunControl()


class Interruptions(RunControl):
    """The command line's control: two flags set from signal handlers or a stdin watcher."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._finish = threading.Event()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def finishing(self) -> bool:
        return self._finish.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def finish(self) -> None:
        self._finish.set()

    def install(self) -> None:
        """Handle SIGTERM/SIGINT, and watch stdin when it is a pipe (a terminal or /dev/null is not)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _number, _frame: self.cancel())
        if stdin_is_pipe():
            threading.Thread(target=self._watch_stdin, name="stdin-watch", daemon=True).start()

    def _watch_stdin(self) -> None:
        """Finish on a `finish` line (the last one may lack its newline); cancel at end of file
        unless a finish came first (the parent asked for the result and then let go). Other lines
        are ignored: they may be commands of a later protocol."""
        pending = b""
        try:
            while chunk := os.read(sys.stdin.fileno(), 4096):
                *lines, pending = (pending + chunk).split(b"\n")
                if any(line.strip() == FINISH_COMMAND for line in lines):
                    self.finish()
        except OSError:
            pass
        if pending.strip() == FINISH_COMMAND:
            self.finish()
        if not self.finishing():
            self.cancel()


def stdin_is_pipe() -> bool:
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
