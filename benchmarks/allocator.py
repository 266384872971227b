"""Seconds per step and peak memory of engine runs with and without TensorFlow's BFC allocator.

The engine asks for TensorFlow's BFC allocator where TensorFlow uses its Eigen kernels
(`nst_engine/tensorflow_env.py`) and leaves TensorFlow's default elsewhere: oneDNN's allocator
where TensorFlow uses oneDNN, the C library's malloc otherwise. This script measures that choice on
any machine. Each run is the CLI, untiled, in a process of its own with `TF_CPU_ALLOCATOR_USE_BFC`
set to 0 (TensorFlow's default) or 1 (BFC); the two take turns, round after round, so that drift in
the machine's state hits them alike. Per run: the median seconds per step from the fourth on (the
first traces graphs) and the child's peak RSS from wait4.

    .venv/bin/python benchmarks/allocator.py                                  # 512 px, twice each
    .venv/bin/python benchmarks/allocator.py --sizes 1024 --rounds 1 --runs tutorial balanced:auto

A run is PRESET or PRESET:PRECISION (default float32; `auto` is what the preset runs by default).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memory_per_pixel import untiled_command  # noqa: E402

from nst_engine import cpu, memory, weights  # noqa: E402
from nst_engine import precision as precision_module  # noqa: E402
from nst_engine.settings import PRESETS  # noqa: E402
from nst_engine.tensorflow_env import BFC_NAME, allocator, default_allocator  # noqa: E402

ALLOCATORS = {default_allocator(): "0", "BFC": "1"}  # TensorFlow's own choice, and BFC
SKIPPED_STEPS = 3


def parse_run(text: str) -> tuple[str, str]:
    """'balanced' -> ('balanced', 'float32'); 'balanced:auto' -> ('balanced', 'auto')."""
    name, _, precision = text.partition(":")
    if name not in PRESETS:
        raise argparse.ArgumentTypeError(f"unknown preset {name!r}: use one of {', '.join(PRESETS)}")
    precision = precision or "float32"
    if precision not in precision_module.CHOICES:
        raise argparse.ArgumentTypeError(
            f"unknown precision {precision!r}: use one of {', '.join(precision_module.CHOICES)}"
        )
    return name, precision


def measure(command: list[str], name: str) -> tuple[float, int, float]:
    """(median seconds per step after the first few, peak RSS in bytes, last loss) of one CLI run
    under the allocator `name` (a key of ALLOCATORS)."""
    env = {**os.environ, BFC_NAME: ALLOCATORS[name]}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    times, loss = [], float("nan")
    for line in child.stdout:
        event = json.loads(line)
        if event["event"] == "progress":
            times.append(event["elapsed"])
            loss = event["loss"]
        elif event["event"] == "error":
            print(f"  engine error: {event['message']}", file=sys.stderr)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the engine failed under {name}: {' '.join(command)}")
    steps = [later - earlier for earlier, later in zip(times[SKIPPED_STEPS:], times[SKIPPED_STEPS + 1 :])]
    return statistics.median(steps), usage.ru_maxrss * 1024, loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512], help="working sizes, px")
    parser.add_argument("--runs", type=parse_run, nargs="+", default=[parse_run("tutorial"), parse_run("balanced")])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=22, help="steps or evaluations per run")
    parser.add_argument("--weights", type=Path, help="VGG19 weights (default: where the engine finds them)")
    args = parser.parse_args()
    if args.iterations < SKIPPED_STEPS + 3:
        parser.error(f"--iterations must be at least {SKIPPED_STEPS + 3}: the first {SKIPPED_STEPS} are not timed")
    weights_path = weights.locate(args.weights)
    machine = platform.processor() or platform.machine()
    print(f"# {machine}, oneDNN: {cpu.onednn_enabled()}, the engine's allocator here: {allocator()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size, name, precision, round_ in [
            (s, n, p, r) for s in args.sizes for n, p in args.runs for r in range(args.rounds)
        ]:
            gradient = PRESETS[name].conv_gradient
            command = untiled_command(name, size, gradient, args.iterations, weights_path, folder, "json", precision)
            for allocator_name in ALLOCATORS:
                seconds, peak, loss = measure(command, allocator_name)
                rows.append((size, name, precision, allocator_name, seconds, peak, loss))
                print(
                    f"{name} {precision} {size} px, round {round_ + 1}, {allocator_name}: {seconds:.3f} s per step, "
                    f"peak {peak / memory.MIB:.0f} MiB, loss {loss:.6g}",
                    flush=True,
                )
    print("\n| size | preset | precision | allocator | seconds per step | peak RSS | last loss |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size, name, precision, allocator_name, seconds, peak, loss in rows:
        print(
            f"| {size} | {name} | {precision} | {allocator_name} | {seconds:.3f} "
            f"| {peak / memory.MIB:.0f} MiB | {loss:.6g} |"
        )


if __name__ == "__main__":
    main()
