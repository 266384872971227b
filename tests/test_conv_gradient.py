"""The flipped-kernel gradient is TensorFlow's gradient computed by another kernel, and `auto`
chooses it only where it was measured to pay (CPUs on which TensorFlow has no oneDNN)."""

import numpy as np
import pytest

from nst_engine import conv_gradient
from nst_engine.errors import BadInputError
from nst_engine.settings import PRESETS


@pytest.mark.parametrize("size, channels_in, channels_out, shape", [(3, 4, 6, (1, 7, 5)), (5, 3, 2, (2, 9, 12))])
def test_one_convolution_has_tensorflows_gradient(size, channels_in, channels_out, shape):
    import tensorflow as tf

    rng = np.random.default_rng(size)
    kernel = tf.constant(rng.normal(size=(size, size, channels_in, channels_out)).astype(np.float32))
    x = tf.constant(rng.normal(size=(*shape, channels_in)).astype(np.float32))
    weights = tf.constant(rng.normal(size=(*shape, channels_out)).astype(np.float32))
    conv = conv_gradient.conv2d_with_flipped_gradient(kernel)
    gradients = []
    for function in (conv, lambda v: tf.nn.conv2d(v, kernel, strides=1, padding="SAME")):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = function(x)
            loss = tf.reduce_sum(weights * y * y)  # not linear in y, so the upstream gradient varies
        gradients.append((y.numpy(), tape.gradient(loss, x).numpy()))
    (y_flipped, g_flipped), (y_reference, g_reference) = gradients
    np.testing.assert_array_equal(y_flipped, y_reference)
    assert np.abs(g_reference).max() > 1.0
    np.testing.assert_allclose(g_flipped, g_reference, rtol=1e-4, atol=1e-4)


def test_an_even_kernel_is_refused():
    import tensorflow as tf

    with pytest.raises(ValueError, match="odd"):
        conv_gradient.conv2d_with_flipped_gradient(tf.zeros((2, 2, 3, 3)))


@pytest.mark.weights
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_the_tutorial_objective_has_the_same_gradient_through_vgg19(dtype, weights_path, small_images):
    import tensorflow as tf

    from conftest import read_rgba
    from nst_engine.objective import Objective, build_extractor
    from nst_engine.vgg19 import preprocess

    content = read_rgba(small_images["tubingen"])[..., :3]
    style = read_rgba(small_images["the_scream"])[..., :3]
    noisy = np.clip(content + np.random.default_rng(2).normal(0, 20, content.shape), 0, 255)
    results = {}
    for gradient in ("tensorflow", "flipped"):
        extractor = build_extractor(str(weights_path), dtype, gradient)
        objective = Objective(extractor, content, [style], [1.0], 1e3, 1e-2, 0.0)
        x = tf.constant(preprocess(noisy.astype(np.float32)))
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = objective(x)[0]
        results[gradient] = (float(total), tape.gradient(total, x).numpy())
    (loss, reference), (loss_flipped, flipped) = results["tensorflow"], results["flipped"]
    assert loss_flipped == loss  # the forward pass is the same operations
    # float32: the same sums in another order. bfloat16 rounds each layer's gradient to 8 bits,
    # so two orders of summation can round differently; they still agree far inside the
    # bfloat16-against-float32 tolerance that test_presets promises (cosine > 0.98).
    error = np.linalg.norm(flipped - reference) / np.linalg.norm(reference)
    assert error < (1e-5 if dtype == "float32" else 2e-2), error


@pytest.mark.weights
def test_the_objectives_graph_gives_its_terms_and_the_gradient_of_their_total(weights_path, small_images):
    """`Objective.loss_and_gradient`, which L-BFGS and the benchmarks evaluate, against the terms
    and an eager gradient of the same objective (a total-variation weight, so all four terms count)."""
    import tensorflow as tf

    from conftest import read_rgba
    from nst_engine.objective import Objective, build_extractor
    from nst_engine.vgg19 import preprocess

    content = read_rgba(small_images["tubingen"])[..., :3]
    style = read_rgba(small_images["starry_night"])[..., :3]
    noisy = np.clip(content + np.random.default_rng(3).normal(0, 20, content.shape), 0, 255)
    objective = Objective(build_extractor(str(weights_path)), content, [style], [1.0], 1e3, 1e-2, 1e-3)
    x = tf.constant(preprocess(noisy.astype(np.float32)))
    terms, gradient = objective.loss_and_gradient(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        eager = objective(x)
    np.testing.assert_allclose([float(t) for t in terms], [float(t) for t in eager], rtol=1e-5)
    assert all(float(t) > 0 for t in terms)
    reference = tape.gradient(eager[0], x).numpy()
    assert np.linalg.norm(gradient.numpy() - reference) / np.linalg.norm(reference) < 1e-5


def test_auto_takes_the_flipped_kernel_only_on_a_cpu_without_onednn(monkeypatch):
    monkeypatch.setattr(conv_gradient.cpu, "onednn_enabled", lambda: False)
    assert conv_gradient.resolve("auto", "CPU") == "flipped"
    assert conv_gradient.resolve("auto", "GPU:0") == "tensorflow"
    monkeypatch.setattr(conv_gradient.cpu, "onednn_enabled", lambda: True)
    assert conv_gradient.resolve("auto", "CPU") == "tensorflow"
    assert conv_gradient.resolve("flipped", "GPU:0") == "flipped"
    assert conv_gradient.resolve("tensorflow", "CPU") == "tensorflow"
    with pytest.raises(BadInputError, match="--conv-gradient"):
        conv_gradient.resolve("eigen", "CPU")


def test_the_tutorial_keeps_tensorflows_gradient_and_the_presets_choose():
    assert PRESETS["tutorial"].conv_gradient == "tensorflow"
    assert all(PRESETS[name].conv_gradient == "auto" for name in PRESETS if name != "tutorial")
