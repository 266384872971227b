"""The ratio at every quality a painter might stop at with Finish now (a benchmark, not a test).

    .venv/bin/python benchmarks/finish_early.py                        # tubingen + the_scream, 512 px
    .venv/bin/python benchmarks/finish_early.py --style starry_night --precision float32
    .venv/bin/python benchmarks/finish_early.py --size 256 --steps 300  # a quick look

`speed_vs_tutorial.py` times the default preset to its end, against the tutorial's loss after its
1000 steps. A painter who watches the preview and presses Finish now stops earlier, at whatever
quality is good enough, so the ratio at each loss on the way matters too. In one process: the
`tutorial` preset runs, its loss recorded against wall time after every step; then the default
preset runs, its loss recorded after every evaluation. For the tutorial's loss after each of a few
step counts, it prints the tutorial's time to it, the default's first evaluation at or below it
(its running minimum) and the time to that, and their ratio.

The default's loss is the one it optimises: the tutorial's objective at the working size, the same
function in float32 (its last stage, untiled, is that objective; `evaluations_to_target.py` relies
on the same). In bfloat16 (`auto` on CPUs with native bfloat16) it reads about 2 % above the
float32 objective, so the default's evaluation counts there are a little pessimistic.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed_vs_tutorial import PeakRSS, evaluations_to_reach, load_pair, run_preset, run_tutorial  # noqa: E402

from nst_engine import weights  # noqa: E402
from nst_engine.settings import DEFAULT_PRESET  # noqa: E402

CHECKPOINTS = (25, 50, 100, 250, 500, 750, 1000)


def run_default(weights_path, content, style, size: int, precision: str, device: str):
    """The default preset as `speed_vs_tutorial.py` runs it; ([(seconds, loss)] after each
    evaluation, the precision and the gradient kernel it resolved to)."""
    curve: list[tuple[float, float]] = []
    started = time.perf_counter()
    record = lambda step: curve.append((time.perf_counter() - started, step.terms.total))  # noqa: E731
    seconds, _image, _rss, dtype, gradient = run_preset(
        DEFAULT_PRESET, weights_path, content, style, size, precision, PeakRSS(), {}, device, record
    )
    set_up = time.perf_counter() - started - seconds  # reading the weights: the tutorial's clock leaves it out too
    return [(at - set_up, loss) for at, loss in curve], dtype, gradient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", default="tubingen")
    parser.add_argument("--style", default="the_scream")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=1000, help="the tutorial's steps")
    parser.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16"])
    args = parser.parse_args()

    from nst_engine import device as device_module
    from nst_engine.objective import build_extractor

    device = device_module.prepare()
    content, style = load_pair(args.content, args.style)
    path = weights.locate()
    print(f"{args.content} + {args.style}, {args.size} px: tutorial, {args.steps} steps ...", flush=True)
    tutorial, seconds, _loss, _rss, _image = run_tutorial(
        build_extractor(str(path), "float32"), content, style, args.size, args.steps, PeakRSS()
    )
    print(f"  {seconds:.0f} s\n{DEFAULT_PRESET}, --precision {args.precision} ...", flush=True)
    default, dtype, gradient = run_default(path, content, style, args.size, args.precision, device)
    print(f"  {default[-1][0]:.0f} s, {len(default)} evaluations, {dtype}, {gradient} gradient kernel", flush=True)
    default_losses = [loss for _seconds, loss in default]

    print(
        f"\n| tutorial steps | tutorial loss | tutorial s | {DEFAULT_PRESET} evaluations | {DEFAULT_PRESET} s | ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    best = float("inf")
    for step, (seconds, loss) in enumerate(tutorial, start=1):
        best = min(best, loss)
        if step not in CHECKPOINTS and step != len(tutorial):
            continue
        evaluations = evaluations_to_reach(default_losses, best)
        if evaluations is None:
            print(f"| {step} | {best:.4g} | {seconds:.0f} | not reached | — | < {seconds / default[-1][0]:.1f} |")
        else:
            default_seconds = default[evaluations - 1][0]
            print(
                f"| {step} | {best:.4g} | {seconds:.0f} | {evaluations} | {default_seconds:.0f} | "
                f"{seconds / default_seconds:.1f} |"
            )


if __name__ == "__main__":
    main()
