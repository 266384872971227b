"""How an engine run's peak memory grows step by step: does it level off, or creep all run long?

`memory_per_pixel.py` measures the peak after 22 evaluations, which the `--max-memory` plan is
built on. That is only safe if the peak stops growing by then, whatever allocator TensorFlow uses
(`nst_engine/tensorflow_env.py`). This script runs the CLI untiled with JSON progress and, after
every step, reads the child's high-water mark (VmHWM) from /proc; it prints a line whenever the
peak rises and every `--every` steps, then the whole process's peak from wait4. Linux only.

    .venv/bin/python benchmarks/peak_over_run.py --preset tutorial --size 1024 --iterations 120
    .venv/bin/python benchmarks/peak_over_run.py --preset balanced --size 1024 --iterations 60
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memory_per_pixel import untiled_command  # noqa: E402
from speed_vs_tutorial import proc_status_bytes  # noqa: E402

from nst_engine import conv_gradient, memory, tensorflow_env, weights  # noqa: E402
from nst_engine.settings import PRESETS  # noqa: E402

MIB = memory.MIB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tutorial")
    parser.add_argument("--size", type=int, default=1024, help="working size, px")
    parser.add_argument("--iterations", type=int, default=120)
    parser.add_argument("--conv-gradient", choices=conv_gradient.CHOICES, help="default: the preset's own")
    parser.add_argument("--every", type=int, default=10, help="also print every this many steps")
    parser.add_argument("--weights", type=Path, help="VGG19 weights (default: where the engine finds them)")
    args = parser.parse_args()
    print(f"# {args.preset} at {args.size} px, float32, allocator: {tensorflow_env.allocator()}", flush=True)
    gradient = args.conv_gradient or PRESETS[args.preset].conv_gradient
    weights_path = weights.locate(args.weights)
    with tempfile.TemporaryDirectory() as folder:
        command = untiled_command(args.preset, args.size, gradient, args.iterations, weights_path, folder, "json")
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        last = 0
        for line in child.stdout:
            event = json.loads(line)
            if event["event"] != "progress":
                continue
            peak, step = proc_status_bytes("VmHWM", child.pid), event["iteration"]
            if peak > last or step % args.every == 0:
                print(f"step {step}: {event['elapsed']:.1f} s, peak {peak / MIB:.0f} MiB", flush=True)
                last = peak
        _, status, usage = os.wait4(child.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    print(f"whole process: peak {usage.ru_maxrss * 1024 / MIB:.0f} MiB, exit {code}")
    sys.exit(code)


if __name__ == "__main__":
    main()
