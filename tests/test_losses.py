"""The loss terms and the Adam update against small numpy references of the tutorial's formulas."""

import numpy as np
import pytest
import tensorflow as tf

from nst_engine.losses import content_loss, gram_matrix, style_loss, total_variation_loss
from nst_engine.optimizers import adam_update

rng = np.random.default_rng(0)


def numpy_gram(features: np.ndarray) -> np.ndarray:
    a = features.reshape(-1, features.shape[-1]).astype(np.float64)
    return a.T @ a / a.shape[0]


def test_gram_matrix_matches_numpy():
    features = rng.normal(size=(1, 7, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(gram_matrix(tf.constant(features)).numpy(), numpy_gram(features), rtol=1e-5)


def test_gram_matrix_is_normalised_by_pixel_count_not_channels():
    ones = np.ones((1, 10, 10, 3), dtype=np.float32)
    np.testing.assert_allclose(gram_matrix(tf.constant(ones)).numpy(), np.ones((3, 3)), rtol=1e-6)


@pytest.mark.parametrize("height, width, channels", [(64, 48, 8), (7, 5, 64), (33, 31, 16)])
def test_bfloat16_gram_matches_float64_and_its_gradient_matches_autodiff(height, width, channels):
    """Pieces summed in float32 (64×48: 64 pieces; 33×31 has positions left over; 7×5: one piece):
    the value is within a few bfloat16 roundings of the exact Gram of the same activations, and the
    written-out gradient is TensorFlow's gradient of the float32 Gram, rounded to bfloat16."""
    activations = np.abs(rng.normal(size=(1, height, width, channels))).astype(np.float32)  # ReLU-like
    exact_inputs = tf.cast(tf.cast(activations, tf.bfloat16), tf.float32)  # what the network hands over
    weights = tf.constant(rng.normal(size=(channels, channels)).astype(np.float32))
    features = tf.cast(exact_inputs, tf.bfloat16)
    with tf.GradientTape() as tape:
        tape.watch(features)
        gram = gram_matrix(features)
        loss = tf.reduce_sum(gram * weights)
    gradient = tape.gradient(loss, features)
    assert gram.dtype == tf.float32 and gradient.dtype == tf.bfloat16
    expected = numpy_gram(exact_inputs.numpy())
    np.testing.assert_allclose(gram.numpy(), expected, rtol=4e-3)
    with tf.GradientTape() as tape:
        tape.watch(exact_inputs)
        reference = tape.gradient(tf.reduce_sum(gram_matrix(exact_inputs) * weights), exact_inputs)
    got = tf.cast(gradient, tf.float32).numpy()
    assert np.linalg.norm(got - reference.numpy()) < 1e-2 * np.linalg.norm(reference.numpy())


def test_bfloat16_gram_of_many_positions_is_more_exact_than_one_bfloat16_product():
    """Why the pieces: one bfloat16 product rounds every entry to 8 bits; the sum of 64 pieces'
    roundings is several times smaller."""
    from nst_engine.losses import bfloat16_gram

    activations = tf.cast(np.abs(rng.normal(size=(1, 128, 128, 16))).astype(np.float32), tf.bfloat16)
    exact = numpy_gram(tf.cast(activations, tf.float32).numpy())
    matrix = tf.reshape(activations, [-1, 16])
    one_product = tf.cast(tf.matmul(matrix, matrix, transpose_a=True), tf.float64).numpy() / matrix.shape[0]
    error_pieces = np.abs(bfloat16_gram(activations).numpy() - exact).max()
    error_one = np.abs(one_product - exact).max()
    assert error_pieces < error_one / 4, (error_pieces, error_one)


@pytest.mark.parametrize("height, width, channels", [(64, 48, 8), (7, 5, 64), (1, 1, 3)])
def test_symmetric_gram_has_tensorflows_value_and_gradient(height, width, channels):
    """The presets' float32 Gram: the same product forward, and a one-product gradient that agrees
    with TensorFlow's to float32 rounding, for a weighting of the entries that is not symmetric."""
    activations = tf.constant(np.abs(rng.normal(size=(1, height, width, channels))).astype(np.float32))
    weights = tf.constant(rng.normal(size=(channels, channels)).astype(np.float32))
    results = {}
    for gradient in ("tensorflow", "symmetric"):
        with tf.GradientTape() as tape:
            tape.watch(activations)
            gram = gram_matrix(activations, gradient)
            loss = tf.reduce_sum(gram * weights)
        results[gradient] = gram.numpy(), tape.gradient(loss, activations).numpy()
    np.testing.assert_array_equal(results["symmetric"][0], results["tensorflow"][0])
    got, reference = results["symmetric"][1], results["tensorflow"][1]
    assert got.dtype == np.float32 and got.shape == reference.shape
    assert np.linalg.norm(got - reference) < 1e-5 * np.linalg.norm(reference)


@pytest.mark.parametrize("gradient, products", [("tensorflow", 3), ("symmetric", 2)])
def test_the_gram_gradient_setting_decides_how_many_products_the_gradient_makes(gradient, products):
    """What `tutorial` keeps (TensorFlow's gradient: the forward product and two more) and what the
    presets save (one), counted in the traced graph of a style loss and its gradient."""
    target = tf.constant(np.eye(4, dtype=np.float32))

    @tf.function
    def loss_and_gradient(features):
        with tf.GradientTape() as tape:
            tape.watch(features)
            loss = style_loss(features, target, gradient)
        return loss, tape.gradient(loss, features)

    graph = loss_and_gradient.get_concrete_function(tf.TensorSpec((1, 6, 5, 4), tf.float32)).graph
    ops = [op.type for op in graph.get_operations()]
    for function in graph._functions.values():  # a custom gradient's body may sit in a function
        ops += [node.op for node in function.definition.node_def]
    assert sum(op in ("MatMul", "BatchMatMulV2", "BatchMatMulV3") for op in ops) == products


def test_an_unknown_gram_gradient_is_refused():
    with pytest.raises(ValueError, match="Gram gradient"):
        gram_matrix(tf.ones((1, 2, 2, 3)), "fast")


def test_content_and_style_loss_match_numpy():
    a = rng.normal(size=(1, 6, 8, 3)).astype(np.float32)
    b = rng.normal(size=(1, 6, 8, 3)).astype(np.float32)
    assert content_loss(tf.constant(a), tf.constant(b)).numpy() == pytest.approx(np.mean((a - b) ** 2), rel=1e-5)
    expected = np.mean((numpy_gram(a) - numpy_gram(b)) ** 2)
    got = style_loss(tf.constant(a), tf.constant(numpy_gram(b).astype(np.float32))).numpy()
    assert got == pytest.approx(expected, rel=1e-4)


def test_style_loss_is_zero_for_the_same_texture_shuffled():
    """Gram matrices ignore where things are: a permutation of pixels has the same style."""
    a = rng.normal(size=(1, 8, 8, 5)).astype(np.float32)
    shuffled = rng.permutation(a.reshape(64, 5)).reshape(1, 8, 8, 5)
    target = gram_matrix(tf.constant(a))
    assert style_loss(tf.constant(shuffled), target).numpy() < 1e-9
    assert content_loss(tf.constant(shuffled), tf.constant(a)).numpy() > 0.1


def test_total_variation_loss():
    flat = np.full((1, 4, 4, 3), 7.0, dtype=np.float32)
    assert total_variation_loss(tf.constant(flat)).numpy() == 0
    stripes = np.zeros((1, 4, 4, 3), dtype=np.float32)
    stripes[:, :, ::2, :] = 1.0
    assert total_variation_loss(tf.constant(stripes)).numpy() == pytest.approx(1.0)


def tf1_adam(x, grads, lr, b1, b2, eps):
    """TF1's AdamOptimizer as the tutorial used it (epsilon outside the square root)."""
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    return x


def test_adam_update_matches_tf1_adam_and_keras_adam():
    x0 = rng.normal(size=(2, 3)).astype(np.float32) * 10
    grads = [rng.normal(size=(2, 3)).astype(np.float32) * 100 for _ in range(6)]
    var, m, v = tf.Variable(x0), tf.Variable(np.zeros_like(x0)), tf.Variable(np.zeros_like(x0))
    for t, g in enumerate(grads, start=1):
        adam_update(var, tf.constant(g), m, v, float(t), 5.0, 0.99, 0.999, 0.1)
    np.testing.assert_allclose(var.numpy(), tf1_adam(x0.astype(np.float64), grads, 5.0, 0.99, 0.999, 0.1), atol=2e-4)

    keras_var = tf.Variable(x0)
    optimizer = tf.keras.optimizers.Adam(learning_rate=5.0, beta_1=0.99, beta_2=0.999, epsilon=0.1)
    for g in grads:
        optimizer.apply_gradients([(tf.constant(g), keras_var)])
    np.testing.assert_allclose(var.numpy(), keras_var.numpy(), atol=2e-4)  # float32 rounding of steps of ~5
