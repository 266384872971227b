"""The presets guard correctness, not speed: each completes and lowers the tutorial's objective;
bfloat16 agrees with float32; the `tutorial` preset is still exactly the tutorial's loop."""

from dataclasses import replace

import numpy as np
import pytest

from conftest import read_rgba
from nst_engine import schedule
from nst_engine.settings import PRESETS

pytestmark = pytest.mark.weights

# bfloat16 keeps 8 bits of mantissa: losses built from its activations agree with float32 to within
# a few percent, and gradients point the same way. These are the tolerances we promise.
LOSS_TOLERANCE = 0.03
GRADIENT_COSINE = 0.98


@pytest.fixture(scope="module")
def setup(weights_path, small_images):
    from nst_engine.objective import Objective, build_extractor

    content = read_rgba(small_images["tubingen"])[..., :3]
    style = read_rgba(small_images["starry_night"])[..., :3]
    extractors = {dtype: build_extractor(str(weights_path), dtype) for dtype in ("float32", "bfloat16")}

    def objective(dtype="float32", image=content):
        return Objective(extractors[dtype], image, [style], [1.0], 1e3, 1e-2, 0.0)

    return content, style, extractors, objective


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_preset_completes_and_lowers_the_tutorial_objective(name, setup):
    from nst_engine import transfer

    content, style, extractors, objective = setup
    settings = replace(PRESETS[name], max_size=64, precision="float32")
    if name == "tutorial":
        settings = replace(settings, iterations=(300,))  # the full 1000 adds nothing to this check
    stages = schedule.plan((content.shape[1], content.shape[0]), [(style.shape[1], style.shape[0])], settings)
    steps = []
    result = transfer.stylize(extractors["float32"], content, [style], [1.0], settings, stages, steps.append)
    assert len(steps) == settings.total_iterations
    assert [s.iteration for s in steps] == list(range(1, settings.total_iterations + 1))
    assert result.shape[:2] == stages[-1].size[::-1]
    from nst_engine.images import resize
    from nst_engine.objective import Objective

    final = stages[-1]
    content_final, style_final = resize(content, final.size), resize(style, final.style_sizes[0])
    judge = Objective(extractors["float32"], content_final, [style_final], [1.0], 1e3, 1e-2, 0.0)
    before, after = judge.evaluate(content_final), judge.evaluate(result)
    assert after.total < 0.5 * before.total, (before, after)


def test_bfloat16_and_float32_losses_and_gradients_agree(setup):
    import tensorflow as tf

    from nst_engine.vgg19 import preprocess

    content, style, _, objective = setup
    rng = np.random.default_rng(5)
    image = np.clip(content + rng.normal(0, 20, content.shape), 0, 255).astype(np.float32)
    results = {}
    for dtype in ("float32", "bfloat16"):
        x = tf.constant(preprocess(image))
        with tf.GradientTape() as tape:
            tape.watch(x)
            total, content_term, style_term, _ = objective(dtype)(x)
        results[dtype] = (float(total), float(content_term), float(style_term), tape.gradient(total, x).numpy())
    full, half = results["float32"], results["bfloat16"]
    for index in range(3):
        assert abs(half[index] - full[index]) <= LOSS_TOLERANCE * abs(full[index]), (index, full[index], half[index])
    cosine = np.sum(full[3] * half[3]) / (np.linalg.norm(full[3]) * np.linalg.norm(half[3]))
    assert cosine > GRADIENT_COSINE


def test_tutorial_preset_is_exactly_the_tutorial_loop(setup):
    """run_adam against a plain re-statement of the tutorial: Keras Adam, clip, keep the best."""
    import tensorflow as tf

    from nst_engine.optimizers import run_adam
    from nst_engine.vgg19 import BGR_MEANS, deprocess, preprocess

    content, _, _, objective = setup
    tutorial = PRESETS["tutorial"]
    target = objective("float32")
    ours = run_adam(target, content, 6, tutorial.learning_rate, tutorial.beta1, tutorial.beta2, tutorial.epsilon)

    image = tf.Variable(preprocess(content))
    optimizer = tf.keras.optimizers.Adam(learning_rate=5.0, beta_1=0.99, beta_2=0.999, epsilon=0.1)
    best, best_loss = None, np.inf
    for _ in range(6):
        with tf.GradientTape() as tape:
            loss = target(image)[0]
        if float(loss) < best_loss:
            best, best_loss = image.numpy(), float(loss)
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(tf.clip_by_value(image, -BGR_MEANS, 255.0 - BGR_MEANS))
    np.testing.assert_allclose(ours, deprocess(best), atol=0.05)


def test_float32_stays_float32_on_gpus_with_tf32():
    """TensorFlow's default would run float32 convolutions in TF32 on NVIDIA GPUs from Ampere on."""
    import tensorflow as tf

    from nst_engine import device

    tf.config.experimental.enable_tensor_float_32_execution(True)
    device.prepare()
    assert not tf.config.experimental.tensor_float_32_execution_enabled()


def test_a_noise_start_is_smooth_seeded_colour_noise():
    """--init noise: the same picture for the same seed, another for another seed; colour cells
    around the content's mean colour, smooth, so that a short run does not end in grain."""
    from nst_engine.transfer import initial_image

    y, x = np.mgrid[0:384, 0:512].astype(np.float32)  # the working size of `balanced`
    content = np.stack([x / 2.0, y / 2.0, np.full_like(x, 60.0)], axis=2)
    assert initial_image(content, "content", 1) is content
    first, again, other = (initial_image(content, "noise", seed) for seed in (1, 1, 2))
    assert first.shape == content.shape and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 10
    assert 0.0 <= first.min() and first.max() <= 255.0
    assert np.abs(first.reshape(-1, 3).mean(axis=0) - content.reshape(-1, 3).mean(axis=0)).max() < 15
    assert first.std() > 15  # not a flat colour
    steps = np.abs(np.diff(first, axis=0)).mean() + np.abs(np.diff(first, axis=1)).mean()
    assert steps < 10, "pixel-to-pixel noise is grain the optimiser spends hundreds of evaluations on"
