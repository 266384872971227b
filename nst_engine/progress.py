"""Reporting a run's progress: JSON lines for programs (the protocol), a status line for people."""

from __future__ import annotations

import json
import math
import sys
import time
from typing import IO, TYPE_CHECKING, Any

from .errors import EngineError

if TYPE_CHECKING:  # transfer.py imports TensorFlow; this module must not
    from .transfer import Step

PROTOCOL_VERSION = 1


class Reporter:
    """Receives the run's events. The base class stays silent, which is what `--progress none` means."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.optimising_since = self.started
        self.early = False  # whether the run was asked to finish before its last evaluation

    def timing(self, step: Step) -> tuple[float, float]:
        """(elapsed, eta) in seconds; the rate is work (pixels × evaluations) per second so far."""
        now = time.monotonic()
        rate = (now - self.optimising_since) / max(step.work_done, 1e-9)
        return now - self.started, rate * max(step.work_total - step.work_done, 0.0)

    def restart_clock(self) -> None:
        """Count `elapsed` and `seconds` from now: a standby engine's run starts when its job arrives."""
        self.started = self.optimising_since = time.monotonic()

    def log(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def ready(self, **info: Any) -> None:
        """A standby engine has loaded everything and waits for its run."""

    def start(self, **info: Any) -> None:
        self.optimising_since = time.monotonic()

    def progress(self, step: Step) -> None:
        """One evaluation: iteration, total, stage, stages, terms, work done/total."""

    def preview(self, iteration: int, path: str) -> None:
        pass

    def finished_early(self, evaluations: int, planned: int) -> None:
        """Asked to finish, the run stopped optimising after `evaluations` of `planned`."""
        self.early = True
        self.log(f"finishing as asked: the result is the image after evaluation {evaluations} of {planned}")

    def done(self, output: str) -> None:
        pass

    def error(self, error: EngineError) -> None:
        self.log(f"error: {error.message}")


class JsonReporter(Reporter):
    """One JSON object per line on `stream`, flushed at once (docs/protocol.md)."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, event: str, **fields: Any) -> None:
        record = {"event": event, **{k: _finite(v) for k, v in fields.items()}}
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()

    def ready(self, **info: Any) -> None:
        self.emit("ready", protocol=PROTOCOL_VERSION, **info)

    def start(self, **info: Any) -> None:
        super().start()
        self.emit("start", protocol=PROTOCOL_VERSION, **info)

    def progress(self, step: Step) -> None:
        elapsed, eta = self.timing(step)
        self.emit(
            "progress",
            iteration=step.iteration,
            total=step.total,
            stage=step.stage,
            stages=step.stages,
            tile=step.tile,
            tiles=step.tiles,
            loss=step.terms.total,
            content_loss=step.terms.content,
            style_loss=step.terms.style,
            tv_loss=step.terms.tv,
            elapsed=round(elapsed, 3),
            eta=round(eta, 3),
        )

    def preview(self, iteration: int, path: str) -> None:
        self.emit("preview", iteration=iteration, path=path)

    def done(self, output: str) -> None:
        seconds = round(time.monotonic() - self.started, 3)
        self.emit("done", output=output, seconds=seconds, finished_early=self.early)

    def error(self, error: EngineError) -> None:
        about = {"input": error.input_role} if error.input_role else {}
        if error.path:
            about["path"] = error.path
        if error.index is not None:
            about["index"] = error.index
        self.emit("error", code=error.code, exit_code=error.exit_code, message=error.message, **about)
        super().error(error)


class HumanReporter(Reporter):
    """A status line on stderr, redrawn in place on a terminal and every 5% elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.tty = sys.stderr.isatty()

    def start(self, **info: Any) -> None:
        super().start()
        sizes = " -> ".join(f"{w}x{h}" for w, h in info["stage_sizes"])
        self.log(
            f"content {info['content_size'][0]}x{info['content_size'][1]}, working at {sizes} on "
            f"{info['device']} ({info['precision']}), {info['iterations']} {info['optimizer']} iterations "
            f"({info['preset']} preset)"
        )

    def progress(self, step: Step) -> None:
        elapsed, eta = self.timing(step)
        iteration, total, terms = step.iteration, step.total, step.terms
        where = f"stage {step.stage}/{step.stages} tile {step.tile}/{step.tiles}  " if step.tiles > 1 else ""
        line = (
            f"{where}iteration {iteration}/{total}  loss {terms.total:.4g} (content {terms.content:.3g}, "
            f"style {terms.style:.3g})  {_clock(elapsed)} elapsed, {_clock(eta)} left"
        )
        if self.tty:
            end = "\n" if iteration == total else ""
            print("\r" + line + "\x1b[K", end=end, file=sys.stderr, flush=True)
        elif iteration == total or iteration % max(1, total // 20) == 0:
            self.log(line)

    def finished_early(self, evaluations: int, planned: int) -> None:
        if self.tty:
            print(file=sys.stderr)  # end the status line
        super().finished_early(evaluations, planned)

    def done(self, output: str) -> None:
        self.log(f"done in {_clock(time.monotonic() - self.started)}: {output}")

    def error(self, error: EngineError) -> None:
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
