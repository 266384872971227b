"""Where one evaluation's time goes, by oneDNN's own timings (a benchmark, not a test).

    .venv/bin/python benchmarks/evaluation_profile.py [--precision bfloat16] [--size 512]
        [--evaluations 10] [--top 8] [--gram-gradient symmetric]

One evaluation is what L-BFGS asks for: the tutorial's loss and its gradient, one VGG19 forward
and backward pass (tubingen.jpg with starry_night.jpg). The script runs itself again with
`ONEDNN_VERBOSE=1`, which oneDNN reads when TensorFlow loads it; that copy times `--evaluations`
evaluations after three untimed ones and oneDNN prints every primitive it runs, with its time.
Printed: the wall time per evaluation, oneDNN's time per evaluation by kind of primitive
(convolution forward, convolution backward, matrix products, reorders of weights and activations,
pooling), and its costliest primitives. What oneDNN does not run (TensorFlow's own kernels: ReLU,
bias, casts, sums) is roughly the wall time less oneDNN's; roughly, as TensorFlow runs independent
operations side by side (in float32 the sum can exceed the wall time).
Where TensorFlow does not use oneDNN (an AVX2-only CPU, a GPU) there is nothing to break down.
Verbose mode itself slows an evaluation by a few per cent.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nst_engine.settings import GRAM_GRADIENTS, PRESETS  # noqa: E402  (no TensorFlow: the parent stays light)

EXAMPLES = ROOT / "examples"
START, END = "PROFILE-START", "PROFILE-END"


def measure(precision: str, size: int, evaluations: int, gram_gradient: str) -> None:
    """The child: evaluations between two markers on stdout, where oneDNN's lines also go."""
    from nst_engine import tensorflow_env, weights

    tensorflow_env.prepare()
    import tensorflow as tf

    from nst_engine.images import load_image, resize, scaled_size
    from nst_engine.objective import Objective, build_extractor
    from nst_engine.vgg19 import preprocess

    content = load_image(EXAMPLES / "tubingen.jpg")
    style = load_image(EXAMPLES / "starry_night.jpg", "style")
    content_work = resize(content.rgb, scaled_size(content.size, size))
    style_work = resize(style.rgb, scaled_size(style.size, size))
    objective = Objective(
        build_extractor(str(weights.locate()), precision),
        content_work,
        [style_work],
        [1.0],
        1e3,
        1e-2,
        0.0,
        gram_gradient,
    )
    image = tf.constant(preprocess(content_work))
    for _ in range(3):
        objective.loss_and_gradient(image)[1].numpy()
    print(START, flush=True)
    started = time.perf_counter()
    for _ in range(evaluations):
        objective.loss_and_gradient(image)[1].numpy()
    print(f"{END} {(time.perf_counter() - started) / evaluations}", flush=True)


def summarise(output: str, evaluations: int, top: int) -> None:
    """Sum the primitives run between the markers, per kind and per primitive, in ms per evaluation."""
    by_kind: Counter[str] = Counter()
    by_primitive: Counter[str] = Counter()
    timing, wall = False, None
    for line in output.splitlines():
        if line.startswith(START):
            timing = True
        elif line.startswith(END):
            timing, wall = False, float(line.split()[1])
        elif timing and line.startswith("onednn_verbose") and ",exec," in line:
            fields = line.split(",")
            at = fields.index("exec")
            kind, implementation, propagation = fields[at + 2], fields[at + 3], fields[at + 4]
            milliseconds = float(fields[-1]) / evaluations
            by_kind[f"{kind} {propagation}".replace(" undef", "")] += milliseconds
            by_primitive[f"{kind} {implementation} {fields[-2]}"] += milliseconds
    if wall is None:
        raise SystemExit("the measuring run did not finish: see its output above")
    print(f"wall time per evaluation: {wall * 1000:.1f} ms")
    if not by_kind:
        print("oneDNN ran nothing here (TensorFlow uses its own kernels): nothing to break down")
        return
    total, rest = sum(by_kind.values()), wall * 1000 - sum(by_kind.values())
    if rest >= 0:
        print(f"oneDNN's primitives: {total:.1f} ms per evaluation; the rest, roughly: {rest:.1f} ms\n")
    else:  # TensorFlow ran independent operations (a Gram product beside a convolution) side by side
        print(f"oneDNN's primitives: {total:.1f} ms per evaluation, more than the wall time: some ran side by side\n")
    print("| primitive kind | ms per evaluation |\n| --- | --- |")
    for kind, milliseconds in by_kind.most_common():
        print(f"| {kind} | {milliseconds:.1f} |")
    print(f"\nthe {top} costliest primitives (kind, implementation, problem), ms per evaluation:")
    for primitive, milliseconds in by_primitive.most_common(top):
        print(f"  {milliseconds:6.2f}  {primitive}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="bfloat16")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--evaluations", type=int, default=10)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument(
        "--gram-gradient",
        choices=list(GRAM_GRADIENTS),
        default=PRESETS["balanced"].gram_gradient,
        help="as the presets (symmetric) or the tutorial (tensorflow); bfloat16 is always symmetric",
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child
    args = parser.parse_args()
    if args.measure:
        measure(args.precision, args.size, args.evaluations, args.gram_gradient)
        return
    command = [sys.executable, __file__, "--measure", "--precision", args.precision]
    command += ["--size", str(args.size), "--evaluations", str(args.evaluations), "--gram-gradient", args.gram_gradient]
    child = subprocess.run(
        command, env={**os.environ, "ONEDNN_VERBOSE": "1"}, capture_output=True, text=True, check=False
    )
    if child.returncode != 0:
        sys.stderr.write(child.stderr[-4000:])
        raise SystemExit(f"the measuring run failed (exit {child.returncode})")
    print(f"{args.precision}, {args.size} px, {args.evaluations} evaluations, Gram gradient {args.gram_gradient}")
    summarise(child.stdout, args.evaluations, args.top)


if __name__ == "__main__":
    main()
