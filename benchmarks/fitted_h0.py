"""L-BFGS's multiscale H0 with per-level weights fitted to the history, against fixed ones (a benchmark, not a test).

    .venv/bin/python benchmarks/fitted_h0.py --style the_scream --target 1.758e6
    .venv/bin/python benchmarks/fitted_h0.py --style starry_night --target 2.855e6 --modes fixed fitted

The presets' H0 is γ·Σₖ wₖ·Bₖ with Bₖ = UᵏDᵏ/4ᵏ (B₀ = I; `lbfgs.multiscale`) and the fixed weights
wₖ = 2ᵏ, chosen by hand on two pairs. Textbook L-BFGS fits its one weight γ to the newest pair
(γ·y ≈ s in least squares); this fits all of them the same way, with non-negative least squares
over the stored pairs, so that each scale gets the step size its own curvature asks for. Modes:
`fixed` (the presets' weights, for comparison), `fitted` (fitted to every stored pair),
`fitted-newest` (to the newest pair only), `fitted-floor` (fitted to every pair, but never below
the fixed weights). Each run minimises the tutorial's objective from the content image, as
`adam_schedules.py` does, and prints the loss every 50 evaluations and the first evaluation at or
below --target (the tutorial's 1000-step loss at this size, printed by that benchmark).

The fit happens when a pair is stored, so the script swaps in a `lbfgs.History` subclass for this
process; the engine itself is unchanged.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from speed_vs_tutorial import evaluations_to_reach, tutorial_problem  # noqa: E402

MODES = ("fixed", "fitted", "fitted-newest", "fitted-floor")


def halvings(v, levels: int):
    """[v, Dv, …, D^L v] as (C, H, W, 1) images, with lbfgs' bilinear halving D (U = Dᵀ doubles)."""
    import tensorflow as tf

    from nst_engine.lbfgs import _HALVE

    downs = [tf.transpose(v, [3, 1, 2, 0])]
    for _ in range(levels):
        downs.append(tf.nn.conv2d(downs[-1], _HALVE, 2, "SAME"))
    return downs


def doubled(acc, like):
    """U·acc, to the size of `like` (a (C, H, W, 1) image one level finer)."""
    import tensorflow as tf

    from nst_engine.lbfgs import _HALVE

    return tf.nn.conv2d_transpose(acc, _HALVE, tf.shape(like), 2, "SAME")


def level_terms(v, levels: int):
    """[B₀v, …, B_L v], Bₖ = UᵏDᵏ/4ᵏ: each term alone, for the fit."""
    import tensorflow as tf

    downs = halvings(v, levels)
    terms = [v]
    for k in range(1, levels + 1):
        acc = downs[k] / 4.0**k
        for j in range(k, 0, -1):
            acc = doubled(acc, downs[j - 1])
        terms.append(tf.transpose(acc, [3, 1, 2, 0]))
    return terms


def weighted_shape(levels: int, level_weights):
    """H0's shape Σₖ wₖ·Bₖ v, the weights read from a tf.Variable at every call, one doubling per
    level (Horner form). `lbfgs.multiscale` is this with wₖ = weightᵏ, nested so that the weight is
    a float; it is not reused so that the presets' arithmetic stays as measured."""
    import tensorflow as tf

    def apply(v):
        downs = halvings(v, levels)
        acc = tf.zeros_like(downs[-1])
        for k in range(levels, 0, -1):
            acc = doubled(level_weights[k] / 4.0**k * downs[k] + acc, downs[k - 1])
        return level_weights[0] * v + tf.transpose(acc, [3, 1, 2, 0])

    return apply


def nonnegative_least_squares(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
    """argmin over w ≥ 0 (w₀ > 0) of wᵀ·gram·w − 2·wᵀ·rhs, by trying every support: with at most
    a few levels that is exact and needs no solver. None if no support gives non-negative weights."""
    best, best_w = np.inf, None
    for mask in itertools.product([False, True], repeat=len(rhs) - 1):
        support = [0] + [i + 1 for i, used in enumerate(mask) if used]
        sub = gram[np.ix_(support, support)]
        solution = np.linalg.solve(sub + 1e-12 * np.trace(sub) * np.eye(len(support)), rhs[support])
        if np.any(solution <= 0):
            continue
        w = np.zeros(len(rhs))
        w[support] = solution
        value = w @ gram @ w - 2.0 * w @ rhs
        if value < best:
            best, best_w = value, w
    return best_w


def run(objective, start, steps: int, levels: int, mode: str) -> tuple[list[float], list[np.ndarray]]:
    """Projected L-BFGS (20 corrections) with H0's weights as `mode` says; the loss of every
    evaluation and the weights after each fit."""
    import tensorflow as tf

    from nst_engine import lbfgs
    from nst_engine.optimizers import run_lbfgs

    fixed = 2.0 ** np.arange(levels + 1)
    level_weights = tf.Variable(fixed, dtype=tf.float32)
    shape = weighted_shape(levels, level_weights)
    terms_of = tf.function(lambda v: tf.stack(level_terms(v, levels)), autograph=False)
    normal_equations: list[tuple[np.ndarray, np.ndarray]] = []  # per stored pair: (BᵢyᵀBⱼy, Bᵢyᵀs)
    fits: list[np.ndarray] = []

    class FittedHistory(lbfgs.History):
        """Refits H0's weights to the pairs it will hold once (s, y) is in, before storing it, so that
        γ is taken from the rounded pair with the new weights, as `History.add` always does."""

        def add(self, s, y) -> bool:
            if mode == "fixed":
                return super().add(s, y)
            terms = terms_of(y).numpy().reshape(levels + 1, -1).astype(np.float64)
            held = [*normal_equations, (terms @ terms.T, terms @ s.numpy().reshape(-1).astype(np.float64))]
            held = held[-self.memory :]
            used = held[-1:] if mode == "fitted-newest" else held
            w = nonnegative_least_squares(sum(g for g, _ in used), sum(r for _, r in used))
            before = level_weights.numpy()
            if w is not None:
                level_weights.assign(np.maximum(w, w[0] * fixed) if mode == "fitted-floor" else w)
            if not super().add(s, y):  # no positive curvature: the pair is not kept, nor its fit
                level_weights.assign(before)
                return False
            normal_equations[:] = held
            if w is not None:
                fits.append(level_weights.numpy() / level_weights.numpy()[0])
            return True

    losses: list[float] = []
    original, lbfgs.History = lbfgs.History, FittedHistory
    try:
        run_lbfgs(objective, start, steps, 20, lambda _i, terms, _c: losses.append(terms.total), h0=shape)
    finally:
        lbfgs.History = original
    return losses, fits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--style", default="the_scream")
    parser.add_argument("--steps", type=int, default=250, help="evaluations per mode")
    parser.add_argument("--levels", type=int, default=6)
    parser.add_argument("--target", type=float, required=True, help="the tutorial's 1000-step loss at --size")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args()

    objective, start = tutorial_problem(args.style, args.size)
    for mode in args.modes:
        started = time.perf_counter()
        losses, fits = run(objective, start, args.steps, args.levels, mode)
        seconds = time.perf_counter() - started
        reached = evaluations_to_reach(losses, args.target)
        marks = ", ".join(f"{n}: {losses[n - 1]:.4g}" for n in range(50, len(losses) + 1, 50))
        reach = f"target after {reached}" if reached else "target not reached"
        print(f"{mode:>13}  {marks}; best {min(losses):.4g}; {reach}; {seconds:.0f} s", flush=True)
        for w in fits[:: max(1, len(fits) // 5)]:
            print(f"{'':>15}weights / w0: {np.array2string(w, precision=2, max_line_width=200)}")


if __name__ == "__main__":
    main()
