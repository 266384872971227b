"""The projected, preconditioned L-BFGS on small problems whose answers are known."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from nst_engine import lbfgs  # noqa: E402

SHAPE = (1, 24, 32, 3)


def run(evaluate, start, low, high, budget, **options):
    """Minimise until `budget` evaluations; return the best point and the losses seen."""
    losses, best = [], {}

    def counted(x):
        if len(losses) == budget:
            raise lbfgs.BudgetSpent
        loss, grad = evaluate(x)
        losses.append(float(loss))
        if float(loss) <= min(losses):
            best["x"] = x
        return loss, grad

    with pytest.raises(lbfgs.BudgetSpent):
        lbfgs.minimize(counted, tf.constant(start), tf.constant(low), tf.constant(high), **options)
    return best["x"].numpy(), losses


def quadratic(curvature, centre, low=-np.inf, high=np.inf):
    """½·Σ a·(x − c)², less its value at the box's minimum p (so float32 can resolve the end)."""
    a, c, p = tf.constant(curvature), tf.constant(centre), tf.constant(np.clip(centre, low, high))

    def evaluate(x):
        return 0.5 * tf.reduce_sum(a * (x - p) * (x + p - 2 * c)), a * (x - c)

    return evaluate


@pytest.mark.parametrize("memory", [1, 10])
def test_reaches_the_box_constrained_minimum_of_an_ill_conditioned_quadratic(memory):
    rng = np.random.default_rng(1)
    curvature = rng.uniform(1.0, 100.0, SHAPE).astype(np.float32)
    centre = rng.uniform(-60.0, 60.0, SHAPE).astype(np.float32)  # some of it outside the box
    low, high = np.float32(-40.0), np.float32(40.0)
    start = np.zeros(SHAPE, np.float32)
    x, losses = run(quadratic(curvature, centre, low, high), start, low, high, 150, memory=memory)
    assert x.min() >= low and x.max() <= high
    np.testing.assert_allclose(x, np.clip(centre, low, high), atol=1e-3)
    assert losses[-1] <= losses[0]


def test_never_steps_outside_the_box():
    rng = np.random.default_rng(2)
    centre = rng.uniform(-500.0, 500.0, SHAPE).astype(np.float32)
    seen = []

    def evaluate(x):
        seen.append((float(tf.reduce_min(x)), float(tf.reduce_max(x))))
        return quadratic(np.ones(SHAPE, np.float32), centre)(x)

    run(evaluate, np.zeros(SHAPE, np.float32), np.float32(-1.0), np.float32(2.0), 20)
    assert min(s[0] for s in seen) >= -1.0 and max(s[1] for s in seen) <= 2.0
