"""A warm engine: load TensorFlow and VGG19 first, then wait for one run's arguments on stdin.

A front end starts `nst-engine standby` when the painter opens its dialog. The seconds that
TensorFlow's import, the device set-up and the weights take pass while the painter is still
choosing a style, so a preview starts at once when asked for. One standby serves one run and then
exits, so no state, memory or traced graph carries over from one run to the next; the front end
starts a fresh one for the next run. The protocol is in docs/protocol.md ("A warm engine").
"""

from __future__ import annotations

import json
import os
import sys
import threading

from . import tensorflow_env
from .errors import BadInputError
from .progress import Reporter

DEFAULT_IDLE_TIMEOUT = 600.0
"""Seconds a standby waits for its run before it exits and gives its memory back."""


def load(weights_path: str, reporter: Reporter) -> str:
    """Import TensorFlow, set up the device and read the weights once; return the device's name.

    An evaluation on a small image as a warm-up was measured and gave nothing: TensorFlow sets up
    its kernels per image size, which only the run knows."""
    tensorflow_env.prepare()
    reporter.log("standby: loading TensorFlow and VGG19")
    from . import device
    from .objective import build_extractor

    chosen = device.select("float32", reporter.log)  # the run checks its GPU again in its own arithmetic
    with chosen.scope():
        build_extractor(weights_path, "float32")  # imports h5py and brings the file into the page cache
    return chosen.name


def wait_for_job(timeout: float) -> str | None:
    """The first line on stdin, or None at end of file or after `timeout` seconds.

    Read byte by byte without Python's buffering, so that nothing after the line is swallowed:
    the rest of stdin is the run's cancel channel (see `cancel.Interruptions`). A thread makes the
    timeout work on every platform (`select` does not take pipes on Windows)."""
    found: list[bytes | None] = []

    def read() -> None:
        line = b""
        try:
            while not line.endswith(b"\n"):
                byte = os.read(sys.stdin.fileno(), 1)
                if not byte:
                    break
                line += byte
        except OSError:
            pass
        found.append(line if line.endswith(b"\n") else None)

    reader = threading.Thread(target=read, name="standby-job", daemon=True)
    reader.start()
    reader.join(timeout)
    if not found or found[0] is None:
        return None
    return found[0].decode("utf-8", "replace")


def job_arguments(line: str) -> list[str]:
    """The `run` arguments that one job line carries: a JSON list of strings."""
    try:
        arguments = json.loads(line)
    except ValueError:
        arguments = None
    if not isinstance(arguments, list) or not all(isinstance(item, str) for item in arguments):
        raise BadInputError(
            "the standby engine expects one line on stdin: a JSON list of `nst-engine run` arguments", "usage"
        )
    return arguments
