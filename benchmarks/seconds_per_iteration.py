"""Seconds per iteration of the `tutorial` preset at 256 and 512 px (a benchmark, not a test).

    .venv/bin/python benchmarks/seconds_per_iteration.py [--sizes 256 512] [--iterations 20]
        [--precisions float32 bfloat16]

One iteration is one forward and backward pass of VGG19 up to block5_conv2 plus the Adam step. The
first iterations (graph tracing, memory allocation) are run and left out of the figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from nst_engine import tensorflow_env, weights  # noqa: E402
from nst_engine.images import load_image, resize, scaled_size  # noqa: E402
from nst_engine.settings import PRESETS  # noqa: E402

tensorflow_env.prepare()  # before TensorFlow loads, as the engine does

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--precisions", nargs="+", default=["float32"], choices=["float32", "bfloat16"])
    args = parser.parse_args()

    from nst_engine import device as device_module
    from nst_engine.objective import Objective, build_extractor
    from nst_engine.optimizers import run_adam

    device = device_module.prepare()
    content = load_image(EXAMPLES / "tubingen.jpg")
    style = load_image(EXAMPLES / "starry_night.jpg", "style")
    tutorial = PRESETS["tutorial"]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {device}")
    rows = []
    for precision in args.precisions:
        extractor = build_extractor(str(weights.locate()), precision)
        for size in args.sizes:
            content_work = resize(content.rgb, scaled_size(content.size, size))
            style_work = resize(style.rgb, scaled_size(style.size, size))
            objective = Objective(extractor, content_work, [style_work], [1.0], 1e3, 1e-2, 0.0)
            stamps: list[float] = []
            record = lambda *_, s=stamps: s.append(time.perf_counter())  # noqa: E731
            run_adam(
                objective,
                content_work,
                args.warmup + args.iterations,
                tutorial.learning_rate,
                tutorial.beta1,
                tutorial.beta2,
                tutorial.epsilon,
                record,
            )
            per_iteration = (stamps[-1] - stamps[args.warmup - 1]) / args.iterations
            rows.append((precision, size, content_work.shape[1], content_work.shape[0], per_iteration))
            print(f"{precision} {size} px: {per_iteration:.3f} s/iteration", flush=True)
    print("\n| precision | size | working image | s/iteration | 1000 iterations |\n| --- | --- | --- | --- | --- |")
    for precision, size, width, height, seconds in rows:
        print(f"| {precision} | {size} | {width}x{height} | {seconds:.3f} | {seconds * 1000 / 60:.1f} min |")


if __name__ == "__main__":
    main()
