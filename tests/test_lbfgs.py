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


# The multiscale shape gets 300 evaluations: pixel-wise random curvature has no smooth structure
# for it to use, so it converges more slowly here (it still must converge).
@pytest.mark.parametrize(
    "memory,h0,budget", [(1, lbfgs.identity, 150), (10, lbfgs.identity, 150), (10, lbfgs.multiscale(), 300)]
)
def test_reaches_the_box_constrained_minimum_of_an_ill_conditioned_quadratic(memory, h0, budget):
    rng = np.random.default_rng(1)
    curvature = rng.uniform(1.0, 100.0, SHAPE).astype(np.float32)
    centre = rng.uniform(-60.0, 60.0, SHAPE).astype(np.float32)  # some of it outside the box
    low, high = np.float32(-40.0), np.float32(40.0)
    start = np.zeros(SHAPE, np.float32)
    x, losses = run(quadratic(curvature, centre, low, high), start, low, high, budget, memory=memory, h0=h0)
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


def test_multiscale_shape_is_symmetric_positive_definite_and_keeps_the_image_size():
    rng = np.random.default_rng(3)
    shape = (1, 23, 37, 3)  # odd sizes: every halving pads
    u, v = (tf.constant(rng.normal(size=shape).astype(np.float32)) for _ in range(2))
    h0 = lbfgs.multiscale(levels=4, weight=2.0)
    assert h0(v).shape == shape
    np.testing.assert_allclose(float(tf.reduce_sum(u * h0(v))), float(tf.reduce_sum(v * h0(u))), rtol=1e-4)
    assert float(tf.reduce_sum(v * h0(v))) >= float(tf.reduce_sum(v * v))
    # Away from the edges (the blurs see zeros beyond them) a change of one colour everywhere
    # passes every level whole, and pixel-scale detail passes none.
    flat = h0(tf.fill((1, 96, 128, 3), 3.0)).numpy()[:, 32:-32, 32:-32]
    np.testing.assert_allclose(flat, 3.0 * (1 + 2 + 4 + 8 + 16), rtol=1e-5)
    checker = np.indices((96, 128)).sum(0) % 2 * 2.0 - 1.0
    checker = tf.constant(np.repeat(checker[None, :, :, None], 3, -1).astype(np.float32))
    np.testing.assert_allclose(h0(checker).numpy()[:, 32:-32, 32:-32], checker.numpy()[:, 32:-32, 32:-32], atol=1e-5)
    np.testing.assert_array_equal(lbfgs.multiscale(levels=0)(v).numpy(), v.numpy())  # 0 levels: textbook L-BFGS


def test_multiscale_shape_moves_a_weakly_held_smooth_change_sooner():
    """Smooth changes have low curvature here (a weak pull to the target, a strong pull between
    neighbours), as a sky's colour has in style transfer: the multiscale H0 gets there in fewer
    evaluations than the identity."""
    target = tf.fill(SHAPE, 100.0)

    def evaluate(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            rough = tf.reduce_sum(tf.square(x[:, 1:] - x[:, :-1])) + tf.reduce_sum(
                tf.square(x[:, :, 1:] - x[:, :, :-1])
            )
            loss = 0.5 * 1e-2 * tf.reduce_sum(tf.square(x - target)) + 0.5 * rough
        return loss, tape.gradient(loss, x)

    start = np.random.default_rng(4).normal(0.0, 20.0, SHAPE).astype(np.float32)
    box = (np.float32(-1000.0), np.float32(1000.0))
    _, plain = run(evaluate, start, *box, 20, memory=10)
    _, multiscale = run(evaluate, start, *box, 20, memory=10, h0=lbfgs.multiscale())
    assert min(multiscale) < 0.01 * min(plain)  # measured: 33 against 2.2e4


def test_stored_curvature_pairs_keep_eleven_bits_whatever_their_magnitude():
    """Gradients can lie far outside float16's range (±65504); the history scales each vector."""
    rng = np.random.default_rng(5)
    for magnitude in (1e-6, 1.0, 1e9):
        v = tf.constant((rng.normal(size=SHAPE) * magnitude).astype(np.float32))
        stored, scale = lbfgs._narrow(v)
        assert stored.dtype == lbfgs.HISTORY_DTYPE and stored.dtype.size == 2
        back = lbfgs._widen(stored, scale, tf.float32)
        largest = float(tf.reduce_max(tf.abs(v)))
        np.testing.assert_allclose(back.numpy(), v.numpy(), rtol=2.0**-11, atol=largest * 2.0**-24)


@pytest.mark.parametrize("h0", [lbfgs.identity, lbfgs.multiscale(levels=2)], ids=["identity", "multiscale"])
def test_history_applies_the_bfgs_inverse_hessian_of_the_pairs_it_holds(h0):
    """The graph two-loop recursion against BFGS's update written out as dense matrices:
    H ← (I − ρsyᵀ)H(I − ρysᵀ) + ρssᵀ from H0 = γ·h0, over the last `memory` (rounded) pairs,
    oldest first; checked after every pair, before and after the history is full. Pairs with
    s·y ≤ 0 are refused; cleared, H is h0."""
    rng = np.random.default_rng(6)
    shape, memory = (1, 6, 8, 3), 3
    n = int(np.prod(shape))
    root = rng.normal(size=(n, n))
    curvature = root @ root.T / n + np.eye(n)  # symmetric positive definite
    h0_matrix = np.stack([h0(tf.constant(e.reshape(shape), tf.float32)).numpy().ravel() for e in np.eye(n)], axis=1)

    def image(v):
        return tf.constant(v.reshape(shape), tf.float32)

    def rounded(v):  # what the history keeps of v, in float64
        return lbfgs._widen(*lbfgs._narrow(image(v)), tf.float32).numpy().ravel().astype(np.float64)

    history = lbfgs.History(memory, image(np.zeros(n)), h0)
    held = []
    for _ in range(5):  # more pairs than it holds: the oldest are dropped
        s = rng.normal(size=n)
        assert history.add(image(s), image(curvature @ s))
        assert not history.add(image(s), image(-s))
        held.append((rounded(s), rounded(curvature @ s)))
        assert history.count == min(len(held), memory)

        s_last, y_last = held[-1]
        inverse = (s_last @ y_last) / (y_last @ h0_matrix @ y_last) * h0_matrix
        for s, y in held[-memory:]:
            rho = 1.0 / (s @ y)
            left = np.eye(n) - rho * np.outer(s, y)
            inverse = left @ inverse @ left.T + rho * np.outer(s, s)
        q = rng.normal(size=n)
        got = history.apply(image(q)).numpy().ravel()
        np.testing.assert_allclose(got, inverse @ q, rtol=1e-3, atol=1e-4 * np.abs(inverse @ q).max())
    history.clear()
    np.testing.assert_allclose(history.apply(image(q)).numpy().ravel(), h0_matrix @ q, rtol=1e-5, atol=1e-5)


def test_pixel_scaling_weighs_each_pixel_by_the_inverse_of_its_gradients_size():
    """Weights ∝ 1/RMS of a pixel's gradients (its channels together), mean 1, and no further than
    the spread from a typical pixel's (the geometric mean)."""
    grad = np.ones((1, 4, 4, 3), np.float32)
    grad[:, :, 1] *= 2.0  # a pixel column twice as steep: half the weight
    grad[:, 3, 3] *= 1e6  # a pixel far steeper: held at the spread
    grad[:, 0, 0] = [0.0, 3.0, 0.0]  # the channels share one weight: √3 as steep as the first column
    scaling = lbfgs.PixelScaling(tf.zeros(grad.shape))
    for _ in range(3):  # the same gradient each time: the moving average is that gradient
        scaling.observe(tf.constant(grad))
    weight = scaling.root.numpy()[0, :, :, 0] ** 2
    assert weight.shape == (4, 4)
    np.testing.assert_allclose(weight.mean(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(weight[1:, 0] / weight[1:, 1], 2.0, rtol=1e-5)
    np.testing.assert_allclose(weight[0, 0] / weight[0, 1], 2.0 / np.sqrt(3.0), rtol=1e-5)
    typical = np.exp(np.log(np.sqrt((grad**2).mean(-1))).mean())
    np.testing.assert_allclose(weight[3, 3] / weight[1, 0], 1.0 / (lbfgs.PIXEL_SPREAD * typical), rtol=1e-4)
    # and the weighted shape stays symmetric positive definite
    rng = np.random.default_rng(7)
    u, v = (tf.constant(rng.normal(size=grad.shape).astype(np.float32)) for _ in range(2))
    h0 = scaling.shaped(lbfgs.multiscale(levels=1))
    np.testing.assert_allclose(float(tf.reduce_sum(u * h0(v))), float(tf.reduce_sum(v * h0(u))), rtol=1e-4)
    assert float(tf.reduce_sum(v * h0(v))) > 0


def test_pixel_scaling_lets_weakly_pulled_pixels_keep_pace():
    """Half the pixels are pulled to their target a hundred times more weakly, as a sky's colour is
    in style transfer, with a spread of curvatures inside each half, so the twenty pairs cannot
    learn them all. Weighted by its gradients, H0 starts near Newton's step there."""
    rng = np.random.default_rng(8)
    curvature = rng.uniform(1.0, 10.0, SHAPE).astype(np.float32)
    curvature[:, :, : SHAPE[2] // 2] *= 0.01
    centre = rng.uniform(-50.0, 50.0, SHAPE).astype(np.float32)
    start = np.zeros(SHAPE, np.float32)
    box = (np.float32(-1000.0), np.float32(1000.0))
    _, plain = run(quadratic(curvature, centre), start, *box, 20, memory=20)
    _, scaled = run(quadratic(curvature, centre), start, *box, 20, memory=20, pixel_scaling=True)
    assert min(scaled) < 0.1 * min(plain)  # measured: 56 against 1701
