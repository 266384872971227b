"""Run the engine as a separate process (``QProcess``, argument list, never a shell).

The engine speaks the protocol in ``docs/protocol.md``: JSON objects on stdout, one per line, and
an exit code. :class:`EngineProcess` turns them into Qt signals, so the caller's event loop (the
dialog, or the local loop of :func:`neural_style.api.stylize`) keeps Krita responsive. The
command line itself comes from :class:`neural_style.request.EngineRequest` (no Qt there).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass

from .config import CANCELLED, ENGINE_BOX, REINSTALL, SMALLER_RUN
from .qt_compat import QObject, QProcess, QTimer, pyqtSignal
from .request import EngineRequest, standby_arguments

CANCEL_GRACE_MS = 5000  # the engine stops within a second; kill() only if it does not
STANDBY_IDLE_S = 600.0  # a warm engine exits after this long without a run, giving its memory back
STANDBY_MARGIN_S = 60.0  # ...so it takes no run this close to that moment
SIGKILL = 9  # what the system's out-of-memory killer sends; Qt gives a crash exit with this code
SHELL_KILLED = 128 + SIGKILL  # how a shell wrapper (a launcher script) reports its killed child
NOT_THE_ENGINE = "No module named nst_engine"  # all that a Python without the engine prints
_ACTIVE: set[EngineProcess] = set()

__all__ = ["EngineProcess", "EngineRequest", "EngineResult", "stop_all"]


@dataclass
class EngineResult:
    ok: bool
    output: str = ""
    # the protocol's error code, or "cancelled", "failed_to_start", "crashed", "not_the_engine"
    code: str = ""
    message: str = ""
    exit_code: int | None = None
    stderr_tail: str = ""
    finished_early: bool = False  # the painter asked for the image as it was (:meth:`EngineProcess.finish`)
    input_role: str = ""  # the image an error is about: "content", "style" or "mask" (the event's "input")
    path: str = ""  # that image's file, where the file itself is the problem
    input_index: int | None = None  # which style image (the event's "index"): 0 the style, 1 the one blended in


class EngineProcess(QObject):
    """One engine run. Signals: ``ready(dict)`` (a warm engine has loaded), ``started(dict)``,
    ``progress(dict)``, ``preview(str)``, ``finished(EngineResult)`` (exactly once, also after
    cancel or a failed start)."""

    ready = pyqtSignal(dict)
    started = pyqtSignal(dict)
    progress = pyqtSignal(dict)
    preview = pyqtSignal(str)
    finished = pyqtSignal(object)

    def __init__(
        self, request: EngineRequest | None, parent: QObject | None = None, *, python: str = "", weights: str = ""
    ) -> None:
        super().__init__(parent)
        self.request = request
        self.python = request.python if request else python
        self.weights = request.weights if request else weights
        self._arguments = request.arguments() if request else standby_arguments(weights, STANDBY_IDLE_S)
        self._started_at: float | None = None
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)
        self._buffer = b""
        self._stderr = b""
        self._events: list[dict] = []
        self._cancelled = False
        self._done = False
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)
        self.pid: int | None = None
        self.result: EngineResult | None = None

    @classmethod
    def standby(cls, python: str, weights: str = "", parent: QObject | None = None) -> EngineProcess:
        """A warm engine, not started yet: it will load everything, then wait for :meth:`submit`."""
        return cls(None, parent, python=python, weights=weights)

    # -- control -------------------------------------------------------------------------------
    def can_take(self, python: str, weights: str) -> bool:
        """Whether this warm engine can take a run for that engine interpreter and weights file:
        it is alive, has no run yet, and is not about to exit for having waited too long."""
        return (
            self.request is None
            and not self._done
            and self._started_at is not None
            and self.process.state() != QProcess.ProcessState.NotRunning
            and time.monotonic() - self._started_at < STANDBY_IDLE_S - STANDBY_MARGIN_S
            and (self.python, self.weights) == (python, weights)
        )

    def submit(self, request: EngineRequest) -> None:
        """Hand a warm engine its run: one JSON line on stdin (docs/protocol.md, "A warm engine")."""
        if not self.can_take(request.python, request.weights):
            raise RuntimeError("this engine cannot take a run: check can_take() first")
        self.request = request
        self.process.write((json.dumps(request.run_arguments()) + "\n").encode("utf-8"))

    def start(self) -> None:
        env = self.process.processEnvironment()
        if env.isEmpty():
            from .qt_compat import QtCore

            env = QtCore.QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        # The engine's stdout and stderr in UTF-8, which is how they are read here, whatever the
        # system's code page (Windows' is cp1252 or the like: a path with "日本" in a message could
        # not even be printed, and one with "é" would show garbled in the Details). Forced: a
        # PYTHONUTF8=0 of the painter's cannot be meant for this pipe, and PYTHONIOENCODING would
        # take precedence over UTF-8 mode for exactly these streams.
        env.insert("PYTHONUTF8", "1")
        env.remove("PYTHONIOENCODING")
        env.insert("TF_CPP_MIN_LOG_LEVEL", env.value("TF_CPP_MIN_LOG_LEVEL", "2"))
        self.process.setProcessEnvironment(env)
        _ACTIVE.add(self)
        self._started_at = time.monotonic()
        self.process.start(self.python, self._arguments)
        if self.process.waitForStarted(10000):
            self.pid = int(self.process.processId())

    def finish(self) -> None:
        """Ask the engine to stop optimising and write the image as it is now (a ``finish`` line on
        its stdin, docs/protocol.md): the run then ends with ``done`` like any other."""
        if self._done or self.request is None or self.process.state() == QProcess.ProcessState.NotRunning:
            return
        self.process.write(b"finish\n")

    def cancel(self) -> None:
        """Ask the engine to stop (SIGTERM and closing its stdin); kill it after a grace period."""
        if self._done:
            return
        self._cancelled = True
        if self.process.state() == QProcess.ProcessState.NotRunning:
            return
        self.process.closeWriteChannel()
        if sys.platform != "win32":
            self.process.terminate()
        if not self._kill_timer.isActive():  # a second Cancel must not put the kill off again
            self._kill_timer.start(CANCEL_GRACE_MS)

    def is_running(self) -> bool:
        return not self._done

    def wait(self, msecs: int = 5000) -> bool:
        """Block until the process has ended (for shutdown paths)."""
        if self.process.state() == QProcess.ProcessState.NotRunning:
            return True
        return self.process.waitForFinished(msecs)

    def stop(self, wait_ms: int = 3000) -> None:
        """Cancel and block until the process has ended, killing it after ``wait_ms``: for
        shutdown paths that cannot wait for the event loop."""
        self.cancel()
        if not self.wait(wait_ms):
            self._kill()
            self.wait(1000)

    def _kill(self) -> None:
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.kill()

    # -- output --------------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._handle_line(line)

    def _read_stderr(self) -> None:
        self._stderr = (self._stderr + bytes(self.process.readAllStandardError()))[-20000:]

    def _handle_line(self, line: bytes) -> None:
        line = line.strip()
        if not line:
            return
        try:
            event = json.loads(line.decode("utf-8", "replace"))
        except ValueError:
            return  # not protocol output: ignore
        if not isinstance(event, dict):
            return
        self._events.append(event)
        kind = event.get("event")
        if kind == "ready":
            self.ready.emit(event)
        elif kind == "start":
            self.started.emit(event)
        elif kind == "progress":
            self.progress.emit(event)
        elif kind == "preview" and event.get("path"):
            self.preview.emit(str(event["path"]))

    def _last(self, kind: str) -> dict | None:
        for event in reversed(self._events):
            if event.get("event") == kind:
                return event
        return None

    def stderr_tail(self, lines: int = 15) -> str:
        text = self._stderr.decode("utf-8", "replace")
        return "\n".join(text.strip().splitlines()[-lines:])

    # -- the end -------------------------------------------------------------------------------
    def _on_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            reason = self.process.errorString()
            self._finish(
                EngineResult(
                    ok=False,
                    code="failed_to_start",
                    message=(
                        f"The engine could not be started with {self.python} ({reason}): choose the engine's "
                        f"Python in {ENGINE_BOX}, or {REINSTALL}."
                    ),
                    stderr_tail=reason,  # the system's reason, for the job's own wording
                )
            )

    def _on_finished(self, exit_code: int, exit_status) -> None:
        self._read_stdout()
        if self._buffer:
            self._handle_line(self._buffer)
            self._buffer = b""
        self._read_stderr()
        done, error = self._last("done"), self._last("error")
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        tail = self.stderr_tail()
        if done and exit_code == 0 and not crashed and not self._cancelled and self.request is not None:
            output = str(done.get("output") or self.request.output)
            early = bool(done.get("finished_early"))
            result = EngineResult(ok=True, output=output, exit_code=0, stderr_tail=tail, finished_early=early)
        elif self._cancelled:
            result = EngineResult(
                ok=False,
                code="cancelled",
                message=CANCELLED,
                exit_code=exit_code,
                stderr_tail=tail,
            )
        elif error:
            result = EngineResult(
                ok=False,
                code=str(error.get("code", "internal")),
                message=str(error.get("message") or "The engine failed."),
                exit_code=exit_code,
                stderr_tail=tail,
                input_role=str(error.get("input") or ""),
                path=str(error.get("path") or ""),
                input_index=error.get("index") if isinstance(error.get("index"), int) else None,
            )
        else:
            result = _unexpected_end(exit_code, crashed, tail)
        self._finish(result)

    def _finish(self, result: EngineResult) -> None:
        if self._done:
            return
        self._done = True
        self._kill_timer.stop()
        _ACTIVE.discard(self)
        self.result = result
        self.finished.emit(result)


def _unexpected_end(exit_code: int, crashed: bool, tail: str) -> EngineResult:
    """The engine ended without ``done`` or ``error``: say the likely cause. The system kills a
    process that takes too much memory with SIGKILL (a crash exit to Qt, whose exit code is then
    the signal's number; 137 from a shell wrapper); any other crash (a segfault, an abort from a
    TensorFlow check, an illegal instruction on an old CPU) is a bug to report, and memory advice
    would send the painter after the wrong cause. A Python that is not the engine's environment
    prints only ``No module named nst_engine``."""
    last = tail.splitlines()[-1] if tail else ""
    if (crashed and exit_code == SIGKILL) or (not crashed and exit_code == SHELL_KILLED):
        code = "crashed"
        message = f"The engine was stopped by the system, probably because it ran out of memory: {SMALLER_RUN}."
    elif crashed:
        code = "crashed"
        said = f": {last}" if last else ""
        message = (
            f"The engine crashed ({_crash_cause(exit_code)}){said}. Please report it; the Details have the "
            "engine's last lines."
        )
    elif NOT_THE_ENGINE in tail:
        code = "not_the_engine"
        message = (
            "The engine's Python is not the engine's environment (it has no nst_engine): clear the "
            f"Python field in {ENGINE_BOX}, or {REINSTALL}."
        )
    else:
        code = "internal"
        message = f"The engine ended without a result (exit code {exit_code}). {last}".strip()
    return EngineResult(ok=False, code=code, message=message, exit_code=exit_code, stderr_tail=tail)


def _crash_cause(exit_code: int) -> str:
    """``signal 11, SIGSEGV``: on POSIX Qt gives a crashed process's signal as its exit code; on
    Windows the exit code is the exception's (``0xC0000005`` for an access violation)."""
    if os.name != "posix":
        return f"exit code 0x{exit_code & 0xFFFFFFFF:08X}"
    try:
        return f"signal {exit_code}, {signal.Signals(exit_code).name}"
    except ValueError:
        return f"signal {exit_code}"


def stop_all(wait_ms: int = 3000) -> None:
    """End every running engine (Krita is quitting): cancel, wait briefly, then kill.

    An engine whose Qt objects Krita has already deleted (its window went first) needs nothing:
    deleting a running ``QProcess`` kills it."""
    for proc in list(_ACTIVE):
        try:
            proc.cancel()
        except RuntimeError:  # the wrapped C++ object is gone
            _ACTIVE.discard(proc)
    for proc in list(_ACTIVE):
        try:
            proc.stop(wait_ms)
        except RuntimeError:
            pass
        _ACTIVE.discard(proc)
