"""Reporting a run's progress: JSON lines for programs (the protocol), a status line for people."""

from __future__ import annotations

import json
import math
import sys
import time
from typing import IO

from .errors import EngineError

PROTOCOL_VERSION = 1


class Reporter:
    """Receives the run's events. The base class stays silent, which is what `--progress none` means."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._first_step_done: float | None = None

    def timing(self, iteration: int, total: int) -> tuple[float, float]:
        """(elapsed, eta) in seconds; the first step (graph tracing) is left out of the rate."""
        now = time.monotonic()
        elapsed = now - self.started
        if iteration <= 1 or self._first_step_done is None:
            self._first_step_done = now
            first = now - self.started
            return elapsed, first * (total - iteration)
        rate = (now - self._first_step_done) / (iteration - 1)
        return elapsed, rate * (total - iteration)

    def log(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def start(self, **info) -> None:
        pass

    def progress(self, iteration: int, total: int, loss: float, content: float, style: float, tv: float) -> None:
        pass

    def preview(self, iteration: int, path: str) -> None:
        pass

    def done(self, output: str) -> None:
        pass

    def error(self, error: EngineError) -> None:
        self.log(f"error: {error.message}")


class JsonReporter(Reporter):
    """One JSON object per line on `stream`, flushed at once (docs/protocol.md)."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, event: str, **fields) -> None:
        record = {"event": event, **{k: _finite(v) for k, v in fields.items()}}
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()

    def start(self, **info) -> None:
        self.emit("start", protocol=PROTOCOL_VERSION, **info)

    def progress(self, iteration, total, loss, content, style, tv) -> None:
        elapsed, eta = self.timing(iteration, total)
        self.emit(
            "progress",
            iteration=iteration,
            total=total,
            loss=loss,
            content_loss=content,
            style_loss=style,
            tv_loss=tv,
            elapsed=round(elapsed, 3),
            eta=round(eta, 3),
        )

    def preview(self, iteration, path) -> None:
        self.emit("preview", iteration=iteration, path=path)

    def done(self, output) -> None:
        self.emit("done", output=output, seconds=round(time.monotonic() - self.started, 3))

    def error(self, error) -> None:
        self.emit("error", code=error.code, exit_code=error.exit_code, message=error.message)
        super().error(error)


class HumanReporter(Reporter):
    """A status line on stderr, redrawn in place on a terminal and every 5% elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.tty = sys.stderr.isatty()

    def start(self, **info) -> None:
        self.log(
            f"content {info['content_size'][0]}x{info['content_size'][1]}, working at "
            f"{info['work_size'][0]}x{info['work_size'][1]} on {info['device']}, "
            f"{info['iterations']} iterations ({info['preset']} preset)"
        )

    def progress(self, iteration, total, loss, content, style, tv) -> None:
        elapsed, eta = self.timing(iteration, total)
        line = (
            f"iteration {iteration}/{total}  loss {loss:.4g} (content {content:.3g}, style {style:.3g})"
            f"  {_clock(elapsed)} elapsed, {_clock(eta)} left"
        )
        if self.tty:
            end = "\n" if iteration == total else ""
            print("\r" + line + "\x1b[K", end=end, file=sys.stderr, flush=True)
        elif iteration == total or iteration % max(1, total // 20) == 0:
            self.log(line)

    def done(self, output) -> None:
        self.log(f"done in {_clock(time.monotonic() - self.started)}: {output}")

    def error(self, error) -> None:
        if self.tty:
            print(file=sys.stderr)
        super().error(error)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _finite(value):
    """JSON has no NaN or infinity; report them as null rather than emit invalid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
