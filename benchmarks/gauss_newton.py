"""Gauss-Newton with conjugate gradients ("Hessian-free") against the presets' L-BFGS (a benchmark, not a test).

    .venv/bin/python benchmarks/gauss_newton.py --cg 10 --target 1.758e6

The tutorial's objective is a weighted sum of mean squared residuals: each style layer's Gram
matrix minus the style's, and the content layer's activations minus the content's. Gauss-Newton
models it with the curvature JᵀJ of those residuals, and a few steps of conjugate gradients
(preconditioned with the presets' multiscale H0 shape, which L-BFGS needs for the_scream's sky)
solve for each step; a backtracking line search takes it. A product with JᵀJ is a
forward-mode pass through VGG19 (`tf.autodiff.ForwardAccumulator`) and a backward one.

The question is whether it needs fewer passes through the network than L-BFGS to reach the same
loss, so work is counted in evaluations plus products, each as one, which favours Gauss-Newton
(a product costs about twice an evaluation here; the script prints both). L-BFGS's count for the
same pair and size comes from `lbfgs_evaluations.py`. From the content image, float32, boxes
handled as L-BFGS does (pixels held at a bound stay out of the step, which is clipped).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed_vs_tutorial import evaluations_to_reach, tutorial_problem  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--style", default="the_scream")
    parser.add_argument("--budget", type=int, default=250, help="evaluations plus products")
    parser.add_argument("--cg", type=int, default=10, help="conjugate-gradient steps per Gauss-Newton step")
    parser.add_argument("--levels", type=int, default=6, help="levels of the multiscale preconditioner")
    parser.add_argument("--target", type=float, help="report when the loss first reaches this")
    args = parser.parse_args()

    import tensorflow as tf

    from nst_engine import lbfgs
    from nst_engine.losses import gram_matrix
    from nst_engine.settings import STYLE_LAYERS
    from nst_engine.vgg19 import BGR_MEANS, preprocess

    objective, start = tutorial_problem(args.style, args.size)
    low, high = tf.constant(-BGR_MEANS), tf.constant(255.0 - BGR_MEANS)
    count = len(STYLE_LAYERS)
    term_weights = [objective.style_weight / count] * count + [objective.content_weight]

    def residuals(x):
        outputs = objective.extractor(x)
        style_residuals = [gram_matrix(f) - g for f, g in zip(outputs[:count], objective.gram_targets)]
        return style_residuals + [f - t for f, t in zip(outputs[count:], objective.content_targets)]

    @tf.function(autograph=False)
    def curvature_product(x, v):
        """JᵀJ·v, weighted as the loss weighs each residual: the gradient of Σ w·mean(r·stop(J·v)), times 2."""
        with tf.GradientTape() as tape:
            tape.watch(x)
            with tf.autodiff.ForwardAccumulator(x, v) as forward:
                rs = residuals(x)
            jvs = [tf.stop_gradient(forward.jvp(r)) for r in rs]
            value = tf.add_n([w * tf.reduce_mean(r * jv) for w, r, jv in zip(term_weights, rs, jvs)])
        return 2.0 * tape.gradient(value, x)

    def dot(u, v) -> float:
        return float(tf.reduce_sum(u * v))

    shape = lbfgs.multiscale(args.levels)
    work = {"evaluations": 0, "products": 0}
    best_after: list[float] = []  # the best loss after each unit of work
    seconds = {"evaluations": 0.0, "products": 0.0}

    def spent() -> int:
        return work["evaluations"] + work["products"]

    def record(kind: str, started: float, loss: float | None = None) -> None:
        work[kind] += 1
        seconds[kind] += time.perf_counter() - started
        best = best_after[-1] if best_after else float("inf")
        best_after.append(min(best, loss) if loss is not None else best)

    def evaluate(x):
        started = time.perf_counter()
        (loss, *_), grad = objective.loss_and_gradient(x)
        loss = float(loss)
        record("evaluations", started, loss)
        return loss, grad

    kept: list[tuple[float, float]] = []  # per step taken: (decrease / what the model promised, step length)
    x = tf.constant(preprocess(start))
    loss, grad = evaluate(x)
    while spent() < args.budget:
        held = ((x <= low) & (grad > 0)) | ((x >= high) & (grad < 0))
        free = 1.0 - tf.cast(held, x.dtype)
        # Preconditioned conjugate gradients on JᵀJ·d = −g over the free pixels, from d = 0.
        step = tf.zeros_like(x)
        residual = -grad * free
        z = shape(residual) * free
        direction, rz = z, dot(residual, z)
        for _ in range(args.cg):
            if spent() >= args.budget - 1:  # keep one evaluation for the step
                break
            started = time.perf_counter()
            product = curvature_product(x, direction) * free
            curvature = dot(direction, product)
            record("products", started)
            if not curvature > 0:
                break
            alpha = rz / curvature
            step = step + alpha * direction
            residual = residual - alpha * product
            z = shape(residual) * free
            rz, previous = dot(residual, z), rz
            direction = z + (rz / previous) * direction
        # Conjugate gradients from 0 keep g·d + dᵀJᵀJd = 0, so the model promises a decrease of −g·d/2.
        promised = -0.5 * dot(grad, step)
        length = 1.0
        while spent() < args.budget:
            candidate = tf.clip_by_value(x + length * step, low, high)
            new_loss, new_grad = evaluate(candidate)
            if new_loss <= loss + 1e-4 * dot(grad, candidate - x):
                kept.append(((loss - new_loss) / promised, length))
                x, loss, grad = candidate, new_loss, new_grad
                break
            length *= 0.5

    marks = sorted({n for n in (50, 100, 150, 200, 250, len(best_after)) if n <= len(best_after)})
    print(f"tubingen + {args.style}, {args.size} px, Gauss-Newton with {args.cg} CG steps per step:")
    print("  best loss: " + ", ".join(f"{best_after[n - 1]:.4g} after {n}" for n in marks))
    print(f"  work: {work['evaluations']} evaluations and {work['products']} products")
    if args.target:
        reached = evaluations_to_reach(best_after, args.target)
        print(f"  target {args.target:.4g}: " + (f"first reached after {reached}" if reached else "not reached"))
    if kept:
        ratios, lengths = sorted(r for r, _ in kept), [length for _, length in kept]
        print(
            f"  {len(kept)} steps taken; decrease over the model's promise: median {ratios[len(ratios) // 2]:.2f} "
            f"({ratios[0]:.2f}–{ratios[-1]:.2f}); steps cut by the line search: {sum(length < 1 for length in lengths)}"
        )
    per_evaluation = seconds["evaluations"] / max(1, work["evaluations"])
    per_product = seconds["products"] / max(1, work["products"])
    print(f"  seconds per evaluation {per_evaluation:.2f}, per product {per_product:.2f}")


if __name__ == "__main__":
    main()
