"""Time and peak memory of one evaluation (the tutorial's loss and its gradient) with each
gradient kernel: TensorFlow's own, and the forward convolution with the flipped kernel.

Each measurement runs in a process of its own, so that its peak RSS is its own; the kernels take
turns, round after round, so that drift in the machine's state hits them alike. Prints a table.

    python benchmarks/conv_gradient.py --sizes 512 1024 --evaluations 4 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KERNELS = ("tensorflow", "flipped")


def measure(kernel: str, size: int, evaluations: int, precision: str) -> dict:
    """In this process: evaluate the loss and gradient `evaluations` times at `size` px."""
    from nst_engine import tensorflow_env

    tensorflow_env.prepare()  # before TensorFlow loads, as the engine does
    import tensorflow as tf
    from speed_vs_tutorial import load_pair, tutorial_objective

    from nst_engine import cpu, weights
    from nst_engine import device as device_module
    from nst_engine.images import resize, scaled_size
    from nst_engine.objective import build_extractor
    from nst_engine.vgg19 import preprocess

    device = device_module.prepare()
    content, style = load_pair("tubingen", "the_scream")
    extractor = build_extractor(str(weights.locate()), precision, kernel)
    objective = tutorial_objective(extractor, content, style, size)
    content = resize(content, scaled_size((content.shape[1], content.shape[0]), size))

    x = tf.constant(preprocess(content))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    seconds = []
    for _ in range(evaluations):
        started = time.perf_counter()
        (total, *_), gradient = objective.loss_and_gradient(x)
        norm = float(tf.norm(gradient))
        seconds.append(time.perf_counter() - started)
    return {
        "kernel": kernel,
        "size": f"{content.shape[1]}x{content.shape[0]}",
        "device": device,
        "onednn": cpu.onednn_enabled(),
        "seconds": seconds,
        "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "before": before,
        "loss": float(total),
        "gradient_norm": norm,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024], help="longest side, px")
    parser.add_argument("--evaluations", type=int, default=4, help="per process; the first one traces the graph")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--child", nargs=2, metavar=("KERNEL", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(args.child[0], int(args.child[1]), args.evaluations, args.precision)
        print(json.dumps(result), flush=True)
        return
    rows = []
    for size in args.sizes:
        for _round in range(args.rounds):
            for kernel in KERNELS:
                command = [sys.executable, __file__, "--child", kernel, str(size)]
                command += ["--evaluations", str(args.evaluations), "--precision", args.precision]
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    raise SystemExit(f"{kernel} at {size} px failed:\n{done.stderr[-2000:]}")
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                later = row["seconds"][1:] or row["seconds"]
                print(
                    f"{kernel} {row['size']}: {statistics.median(later):.2f} s per evaluation after the first, "
                    f"peak {row['peak'] / 2**20:.0f} MiB, loss {row['loss']:.6e}, "
                    f"|gradient| {row['gradient_norm']:.6e}",
                    flush=True,
                )
    print(f"\ndevice {rows[0]['device']}, oneDNN {rows[0]['onednn']}, {args.precision}, {args.evaluations} evaluations")
    print("| size | kernel | s per evaluation (median after the first) | peak RSS | loss | gradient norm |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        later = row["seconds"][1:] or row["seconds"]
        print(
            f"| {row['size']} | {row['kernel']} | {statistics.median(later):.2f} | {row['peak'] / 2**20:.0f} MiB | "
            f"{row['loss']:.6e} | {row['gradient_norm']:.6e} |"
        )


if __name__ == "__main__":
    main()
