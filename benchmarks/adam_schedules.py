"""Adam with learning-rate schedules against the tutorial's fixed step and L-BFGS (a benchmark, not a test).

    .venv/bin/python benchmarks/adam_schedules.py --size 256 --style the_scream --steps 250
    .venv/bin/python benchmarks/adam_schedules.py --size 512 --steps 280 --target 6.572e5 \
        --variants const:5:5:0.9:0 const:10:10:0.9:0 const:5:5:0.99:0 lbfgs:6

The issue names learning-rate schedules for Adam as one way to need fewer iterations to the
tutorial's loss. Each variant minimises the tutorial's objective from the content image and
reports its loss every 50 steps and the first step whose loss is at or below the target: the
`tutorial` preset's loss after 1000 steps at this size (run first when --target is not given).
One step is one evaluation (loss and gradient), whatever the optimiser, so the counts compare
directly; an Adam step also skips L-BFGS's own work (about 6 % of a float32 evaluation).

A variant is `SHAPE:LR0:LR_END:BETA1:LEVELS[:EPSILON]`: SHAPE `const` (LR0 throughout), `cos` (cosine from
LR0 to LR_END over --steps) or `exp` (geometric from LR0 to LR_END); BETA1 Adam's first moment
(the tutorial's is 0.99); LEVELS > 0 feeds Adam the gradient blurred by L-BFGS's multiscale H0
shape (`lbfgs.multiscale(LEVELS)`), so smooth changes get more of each step; EPSILON replaces the
tutorial's ε = 0.1 (scaling the loss by k is the same as dividing ε by k). `lbfgs:LEVELS` is
projected L-BFGS with 20 corrections, as the presets run it.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed_vs_tutorial import evaluations_to_reach, tutorial_problem  # noqa: E402

from nst_engine.settings import PRESETS  # noqa: E402

DEFAULT_VARIANTS = [  # the 256 px rows in docs/performance.md
    "const:5:5:0.9:0",
    "cos:3:0.1:0.9:0",
    "cos:5:0.25:0.9:0",
    "cos:10:0.5:0.9:0",
    "cos:20:0.5:0.9:0",
    "cos:10:0.5:0.99:0",
    "cos:20:0.5:0.99:0",
    "cos:5:0.25:0.8:0",
    "exp:20:1:0.9:0",
    "cos:5:0.25:0.9:0:0.001",
    "cos:5:0.25:0.9:0:10",
    "cos:5:0.25:0.9:6",
    "cos:10:0.5:0.9:6",
    "cos:20:0.5:0.9:6",
    "cos:40:1:0.9:6",
    "lbfgs:6",
]


def learning_rate(shape: str, lr0: float, lr_end: float, step: int, steps: int) -> float:
    """The step size at `step` (1-based) of `steps`."""
    t = (step - 1) / max(steps - 1, 1)
    if shape == "const":
        return lr0
    if shape == "cos":
        return lr_end + 0.5 * (lr0 - lr_end) * (1.0 + math.cos(math.pi * t))
    if shape == "exp":
        return lr0 * (lr_end / lr0) ** t
    raise SystemExit(f"unknown schedule shape {shape!r}: use const, cos or exp")


def run_adam_variant(objective, start, steps, shape, lr0, lr_end, beta1, levels, epsilon) -> list[float]:
    """Adam as the tutorial runs it (β2 0.999, clipped to the pixel range) with a step-size
    schedule and optionally a blurred gradient; the loss of every evaluated image."""
    import tensorflow as tf

    from nst_engine import lbfgs
    from nst_engine.optimizers import adam_update
    from nst_engine.vgg19 import BGR_MEANS, preprocess

    tutorial = PRESETS["tutorial"]
    image = tf.Variable(preprocess(start))
    m, v = tf.Variable(tf.zeros_like(image)), tf.Variable(tf.zeros_like(image))
    low, high = tf.constant(-BGR_MEANS), tf.constant(255.0 - BGR_MEANS)
    shaped = lbfgs.multiscale(levels) if levels else lbfgs.identity

    @tf.function(autograph=False)
    def step(t, lr):
        with tf.GradientTape() as tape:
            total = objective(image)[0]
        grad = shaped(tape.gradient(total, image))
        adam_update(image, grad, m, v, t, lr, beta1, tutorial.beta2, epsilon)
        image.assign(tf.clip_by_value(image, low, high))
        return total

    return [
        float(step(tf.constant(float(i)), tf.constant(learning_rate(shape, lr0, lr_end, i, steps))))
        for i in range(1, steps + 1)
    ]


def run_lbfgs_variant(objective, start, steps, levels) -> list[float]:
    from nst_engine import lbfgs
    from nst_engine.optimizers import run_lbfgs

    losses: list[float] = []
    run_lbfgs(
        objective, start, steps, 20, lambda _i, terms, _c: losses.append(terms.total), h0=lbfgs.multiscale(levels)
    )
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--style", default="the_scream")
    parser.add_argument("--steps", type=int, default=250, help="evaluations per variant")
    parser.add_argument("--target", type=float, help="default: the tutorial's loss after 1000 steps, run first")
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS)
    args = parser.parse_args()

    objective, start = tutorial_problem(args.style, args.size)
    target = args.target
    if target is None:
        tutorial = PRESETS["tutorial"]
        curve = run_adam_variant(objective, start, 1000, "const", 5.0, 5.0, tutorial.beta1, 0, tutorial.epsilon)
        target = min(curve)
        marks = ", ".join(f"{n}: {curve[n - 1]:.4g}" for n in (250, 500, 750, 1000))
        print(f"tutorial at {args.size} px, {args.style}: {marks}; target {target:.4g}", flush=True)
    for variant in args.variants:
        parts = variant.split(":")
        if parts[0] == "lbfgs":
            losses = run_lbfgs_variant(objective, start, args.steps, int(parts[1]))
        else:
            shape, lr0, lr_end, beta1, levels = parts[:5]
            epsilon = float(parts[5]) if len(parts) > 5 else PRESETS["tutorial"].epsilon
            losses = run_adam_variant(
                objective, start, args.steps, shape, float(lr0), float(lr_end), float(beta1), int(levels), epsilon
            )
        reached = evaluations_to_reach(losses, target)
        marks = ", ".join(f"{n}: {losses[n - 1]:.4g}" for n in range(50, len(losses) + 1, 50))
        reach = f"target after {reached}" if reached else "target not reached"
        print(f"{variant:>22}  {marks}; best {min(losses):.4g}; {reach}", flush=True)


if __name__ == "__main__":
    main()
