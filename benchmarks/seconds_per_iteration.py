"""Seconds per iteration of the `tutorial` preset at 256 and 512 px (a benchmark, not a test).

    .venv/bin/python benchmarks/seconds_per_iteration.py [--sizes 256 512] [--iterations 20]

The first iterations (graph tracing, memory allocation) are run and left out of the figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from nst_engine import weights  # noqa: E402
from nst_engine.images import load_image, resize, scaled_size  # noqa: E402
from nst_engine.settings import PRESETS  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    from nst_engine import transfer

    extractor = transfer.build_extractor(str(weights.locate()))
    content = load_image(EXAMPLES / "tubingen.jpg")
    style = load_image(EXAMPLES / "starry_night.jpg", "style")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {transfer.device_name()}")
    rows = []
    for size in args.sizes:
        settings = replace(PRESETS["tutorial"], max_size=size)
        content_work = resize(content.rgb, scaled_size(content.size, size))
        style_work = resize(style.rgb, scaled_size(style.size, size))
        objective = transfer.Objective(extractor, content_work, [style_work], [1.0], 1e3, 1e-2, 0.0)
        stamps: list[float] = []
        total = args.warmup + args.iterations
        transfer.optimize(
            objective,
            content_work,
            replace(settings, iterations=total),
            lambda *_, s=stamps: s.append(time.perf_counter()),
        )
        per_iteration = (stamps[-1] - stamps[args.warmup - 1]) / args.iterations
        rows.append((size, content_work.shape[1], content_work.shape[0], per_iteration))
        print(f"{size} px: {per_iteration:.3f} s/iteration", flush=True)
    print("\n| size | working image | s/iteration | tutorial (1000 it.) |\n| --- | --- | --- | --- |")
    for size, width, height, seconds in rows:
        print(f"| {size} | {width}x{height} | {seconds:.3f} | {seconds * 1000 / 60:.1f} min |")


if __name__ == "__main__":
    main()
