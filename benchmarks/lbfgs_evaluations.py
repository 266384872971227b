"""Where L-BFGS's evaluations go: steps, backtracks, restarts, pixels at a bound (a benchmark, not a test).

    .venv/bin/python benchmarks/lbfgs_evaluations.py --style the_scream
    .venv/bin/python benchmarks/lbfgs_evaluations.py --style starry_night --size 512 --steps 280

L-BFGS needs 210–263 evaluations to reach the tutorial's 1000-step loss, and 10× would need about
100. Before looking for a better optimiser, this checks that none of them is wasted by the
machinery around the quasi-Newton step: a trial point the line search rejects costs a whole
evaluation, a restart (the history cleared because its direction went uphill) throws curvature
away, a refused pair (no positive curvature) leaves the history behind, and pixels held at 0 or
255 by the projection make the box, not the objective, decide the step. It runs `balanced`'s
L-BFGS (20 corrections, the 6-level multiscale H0) on the tutorial's objective from the content
image, as `fitted_h0.py` does, with a `lbfgs.History` subclass that counts; the engine is unchanged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed_vs_tutorial import evaluations_to_reach, tutorial_problem  # noqa: E402

from nst_engine.settings import PRESETS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--style", default="the_scream")
    parser.add_argument("--steps", type=int, default=250, help="evaluations")
    parser.add_argument("--preset", default="balanced", help="whose L-BFGS settings (corrections, H0 levels)")
    parser.add_argument("--target", type=float, help="report when the loss first reaches this")
    args = parser.parse_args()

    import tensorflow as tf

    from nst_engine import lbfgs
    from nst_engine.optimizers import run_lbfgs

    settings = PRESETS[args.preset]
    objective, start = tutorial_problem(args.style, args.size)

    counts = {"pairs kept": 0, "pairs refused": 0, "restarts": 0}
    at_bound: list[float] = []  # fraction of pixels at 0 or 255, at each iteration

    class CountingHistory(lbfgs.History):
        def add(self, s, y) -> bool:
            kept = super().add(s, y)
            counts["pairs kept" if kept else "pairs refused"] += 1
            return kept

        def clear(self) -> None:
            counts["restarts"] += 1
            super().clear()

        def descent(self, x, grad, low, high):
            at_bound.append(float(tf.reduce_mean(tf.cast((x <= low) | (x >= high), tf.float32))))
            return super().descent(x, grad, low, high)

    losses: list[float] = []
    original, lbfgs.History = lbfgs.History, CountingHistory
    try:
        run_lbfgs(
            objective,
            start,
            args.steps,
            settings.lbfgs_memory,
            lambda _i, terms, _c: losses.append(terms.total),
            h0=lbfgs.multiscale(settings.lbfgs_levels),
        )
    finally:
        lbfgs.History = original

    steps = counts["pairs kept"] + counts["pairs refused"]
    rejected = len(losses) - 1 - steps  # every evaluation after the first is a trial point
    print(f"tubingen + {args.style}, {args.size} px, `{args.preset}`'s L-BFGS, {len(losses)} evaluations:")
    print(f"  accepted steps {steps}, trial points rejected by the line search {rejected}")
    print(f"  curvature pairs refused {counts['pairs refused']}, restarts {counts['restarts']}")
    step_marks = [n for n in (10, 50, 100, 200, len(at_bound)) if n <= len(at_bound)]
    print("  pixels at 0 or 255: " + ", ".join(f"{100 * at_bound[n - 1]:.2f} % at step {n}" for n in step_marks))
    loss_marks = sorted({n for n in (10, 25, 50, 100, 150, 200, 250, len(losses)) if n <= len(losses)})
    print("  best loss: " + ", ".join(f"{min(losses[:n]):.4g} after {n}" for n in loss_marks))
    if args.target:
        reached = evaluations_to_reach(losses, args.target)
        print(f"  target {args.target:.4g}: " + (f"first reached after {reached}" if reached else "not reached"))


if __name__ == "__main__":
    main()
