"""How many evaluations an optimiser configuration needs to reach a given tutorial loss at 512 px.

    .venv/bin/python benchmarks/evaluations_to_target.py --target 1.117e6 --scales 1 --iterations 220
    .venv/bin/python benchmarks/evaluations_to_target.py --target 1.117e6 --scales 0.5,1 --iterations 200,200

The target is the `tutorial` preset's final loss, printed by `speed_vs_tutorial.py`. The count is
taken in the last stage, whose objective is the tutorial's at 512 px; earlier stages are printed
alongside so that their cost (∝ pixels) can be added. Used to choose the presets (a benchmark, not
a test).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed_vs_tutorial import load_pair  # noqa: E402

from nst_engine import schedule, weights  # noqa: E402
from nst_engine.settings import PRESETS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, required=True)
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--scales", default="1")
    parser.add_argument("--iterations", default=",".join(map(str, PRESETS["balanced"].iterations)))
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--memory", type=int, default=20, help="L-BFGS history length")
    parser.add_argument("--levels", type=int, default=PRESETS["balanced"].lbfgs_levels, help="L-BFGS H0 levels")
    parser.add_argument(
        "--pixel-scaling",
        action=argparse.BooleanOptionalAction,
        default=PRESETS["balanced"].lbfgs_pixel_scaling,
        help="L-BFGS H0 weighted per pixel (lbfgs.PixelScaling)",
    )
    args = parser.parse_args()

    from nst_engine import transfer
    from nst_engine.objective import build_extractor

    scales = tuple(float(x) for x in args.scales.split(","))
    iterations = tuple(int(x) for x in args.iterations.split(","))
    content, style = load_pair("tubingen", args.style)
    settings = replace(
        PRESETS["balanced"],
        scales=scales,
        iterations=iterations,
        precision=args.precision,
        lbfgs_memory=args.memory,
        lbfgs_levels=args.levels,
        lbfgs_pixel_scaling=args.pixel_scaling,
    )
    stages = schedule.plan((content.shape[1], content.shape[0]), [(style.shape[1], style.shape[0])], settings)
    extractor = build_extractor(str(weights.locate()), args.precision)
    started, curve = time.perf_counter(), []

    def record(step) -> None:
        if step.stage == step.stages:
            curve.append((step.iteration - sum(iterations[:-1]), step.terms.total, time.perf_counter() - started))

    transfer.stylize(extractor, content, [style], [1.0], settings, stages, record)
    crossed = next((c for c in curve if c[1] <= args.target), None)
    print(
        f"stages {[s.size for s in stages]} iterations {iterations} precision {args.precision} levels {args.levels}"
        f" pixel scaling {args.pixel_scaling}"
    )
    print("last stage, loss every 20 evaluations:", ", ".join(f"{n}: {loss:.3g}" for n, loss, _ in curve[::20]))
    if crossed:
        print(f"reached {args.target:.4g} after {crossed[0]} evaluations of the last stage ({crossed[2]:.0f} s)")
    else:
        print(f"did not reach {args.target:.4g}")
    print(f"final {curve[-1][1]:.4g} after {curve[-1][0]} evaluations ({curve[-1][2]:.0f} s)")


if __name__ == "__main__":
    main()
