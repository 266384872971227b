"""A low-rank VGG19 for the first evaluations, then the real one (a benchmark, not a test).

    .venv/bin/python benchmarks/low_rank_vgg.py --keep 0.99 --approx-evaluations 150 --target 1.117e6
    .venv/bin/python benchmarks/low_rank_vgg.py --approx-evaluations 0 --target 1.117e6   # baseline

The question: can most of `balanced`'s L-BFGS evaluations run on a cheaper network? Each
convolution's output is projected onto its leading principal components, measured on the content
and the style at 512 px (mean and covariance of the layer's output before the ReLU, with the real
network's inputs). A layer of c_out channels kept to rank r becomes a 3x3 convolution to r channels
and a 1x1 one back to c_out: (9·c_in·r + r·c_out) / (9·c_in·c_out) of the arithmetic. A layer is
only replaced where that is under 0.8. `--keep` is the share of the output's variance kept.

The run: L-BFGS (the `balanced` settings) on the low-rank network's objective, its targets computed
by the same network, for `--approx-evaluations`; then on the tutorial's own objective until its
loss reaches `--target`. Printed: the ranks, each network's seconds per evaluation, the gradients'
agreement, the tutorial loss of the image the cheap phase left, and the time and evaluations to the
target. Run it once with `--approx-evaluations 0` for the baseline on the same machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed_vs_tutorial import load_pair, tutorial_objective  # noqa: E402

from nst_engine import conv_gradient, lbfgs, vgg19, weights  # noqa: E402
from nst_engine.cancel import RunControl  # noqa: E402
from nst_engine.images import resize, scaled_size  # noqa: E402
from nst_engine.objective import build_extractor  # noqa: E402
from nst_engine.settings import CONTENT_LAYERS, PRESETS, STYLE_LAYERS  # noqa: E402

CHANNEL_STEP = 16  # ranks are rounded up to this: convolutions run best on such widths
MAX_COST = 0.8  # a layer whose low-rank form keeps more of the arithmetic stays as it is


def principal_components(layer_weights: dict, images: list, keep: float) -> dict:
    """Per convolution: (mean, leading components) of its output over `images`, real inputs."""
    import numpy as np
    import tensorflow as tf

    found = {}
    xs = [tf.constant(vgg19.preprocess(image)) for image in images]
    for name, _, channels_out in vgg19.ARCHITECTURE:
        if name not in layer_weights and "pool" not in name:
            break
        if "pool" in name:
            xs = [tf.nn.max_pool2d(x, 2, 2, "VALID") for x in xs]
            continue
        kernel, bias = layer_weights[name]
        ys = [tf.nn.conv2d(x, kernel, 1, "SAME") + bias for x in xs]
        outputs = np.concatenate([y.numpy().reshape(-1, channels_out) for y in ys]).astype(np.float64)
        values, vectors = np.linalg.eigh(np.cov(outputs.T))
        values, vectors = values[::-1], vectors[:, ::-1]
        rank = int(np.searchsorted(np.cumsum(values) / values.sum(), keep) + 1)
        rank = min(channels_out, -(-rank // CHANNEL_STEP) * CHANNEL_STEP)
        found[name] = (outputs.mean(0).astype(np.float32), vectors[:, :rank].astype(np.float32))
        xs = [tf.nn.relu(y) for y in ys]
    return found


class LowRankFeatures(vgg19.VGG19Features):
    """VGG19Features with some convolutions replaced by their projection onto `components`."""

    def __init__(self, layer_weights: dict, components: dict, gradient: str) -> None:
        import numpy as np
        import tensorflow as tf

        super().__init__(layer_weights, STYLE_LAYERS + CONTENT_LAYERS, "float32", gradient)
        self.ranks = {}
        for name, (mean, basis) in components.items():
            kernel, bias = layer_weights[name]
            channels_in, channels_out = kernel.shape[2:]
            rank = basis.shape[1]
            cost = (9 * channels_in * rank + rank * channels_out) / (9 * channels_in * channels_out)
            if name not in self.params or cost > MAX_COST:
                continue
            self.ranks[name] = f"{rank}/{channels_out} ({cost:.2f} of the arithmetic)"
            reduce = self._convolution(tf.constant(np.einsum("hwio,or->hwir", kernel, basis)), gradient)
            expand = tf.constant(basis.T[None, None])
            self.convolutions[name] = lambda x, reduce=reduce, expand=expand: tf.nn.conv2d(reduce(x), expand, 1, "SAME")
            # mean + P·Pᵀ·(W*x + b - mean), with W*x·P computed by `reduce`
            self.params[name] = (None, tf.constant(((bias - mean) @ basis @ basis.T + mean).astype(np.float32)))

    @staticmethod
    def _convolution(kernel, gradient: str):
        import tensorflow as tf

        from nst_engine.conv_gradient import conv2d_with_flipped_gradient

        if gradient == "flipped":
            return conv2d_with_flipped_gradient(kernel)
        return lambda x: tf.nn.conv2d(x, kernel, strides=1, padding="SAME")


def seconds_per_evaluation(objective, x, repeats: int = 5) -> float:
    objective.loss_and_gradient(x)
    started = time.perf_counter()
    for _ in range(repeats):
        objective.loss_and_gradient(x)[1].numpy()
    return (time.perf_counter() - started) / repeats


class StopAtTarget(RunControl):
    """Finish the exact phase as soon as an evaluation has reached the target."""

    def __init__(self) -> None:
        self.reached: tuple[int, float] | None = None

    def finishing(self) -> bool:
        return self.reached is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--keep", type=float, default=0.99, help="share of each layer's output variance kept")
    parser.add_argument("--approx-evaluations", type=int, default=150)
    parser.add_argument("--target", type=float, required=True, help="the tutorial's 1000-step loss")
    parser.add_argument("--budget", type=int, default=300, help="most exact evaluations")
    args = parser.parse_args()

    import tensorflow as tf

    from nst_engine.optimizers import run_lbfgs

    content, style = load_pair("tubingen", args.style)
    content_512 = resize(content, scaled_size((content.shape[1], content.shape[0]), 512))
    style_512 = resize(style, scaled_size((style.shape[1], style.shape[0]), 512))
    gradient = conv_gradient.resolve("auto", "CPU")
    layer_weights = vgg19.load_weights(weights.locate(), "block5_conv2")
    exact = tutorial_objective(build_extractor(str(weights.locate()), "float32", gradient), content, style, 512)
    cheap_features = LowRankFeatures(
        layer_weights, principal_components(layer_weights, [content_512, style_512], args.keep), gradient
    )
    cheap = tutorial_objective(cheap_features, content, style, 512)
    for name, rank in cheap_features.ranks.items():
        print(f"{name}: rank {rank}")
    x = tf.constant(vgg19.preprocess(content_512))
    (_, exact_grad), (_, cheap_grad) = exact.loss_and_gradient(x), cheap.loss_and_gradient(x)
    cosine = float(tf.reduce_sum(exact_grad * cheap_grad) / (tf.norm(exact_grad) * tf.norm(cheap_grad)))
    exact_s, cheap_s = seconds_per_evaluation(exact, x), seconds_per_evaluation(cheap, x)
    print(
        f"at the content image: gradients' cosine {cosine:.4f}, "
        f"norms {float(tf.norm(cheap_grad) / tf.norm(exact_grad)):.3f}"
    )
    print(f"seconds per evaluation: exact {exact_s:.2f}, low rank {cheap_s:.2f} ({cheap_s / exact_s:.2f})")

    settings = PRESETS["balanced"]
    h0 = lbfgs.multiscale(settings.lbfgs_levels)
    started = time.perf_counter()
    image = content_512
    if args.approx_evaluations:
        image = run_lbfgs(cheap, content_512, args.approx_evaluations, settings.lbfgs_memory, None, h0)
        left = float(exact.loss_and_gradient(tf.constant(vgg19.preprocess(image)))[0][0])
        print(
            f"low-rank phase: {args.approx_evaluations} evaluations, "
            f"{time.perf_counter() - started:.0f} s, tutorial loss {left:.4g}"
        )
    control = StopAtTarget()

    def watch(count, terms, _current) -> None:
        if control.reached is None and terms.total <= args.target:
            control.reached = (count, time.perf_counter() - started)

    run_lbfgs(exact, image, args.budget, settings.lbfgs_memory, watch, h0, control)
    if control.reached is None:
        print(f"the target {args.target:.4g} was not reached in {args.budget} exact evaluations")
    else:
        count, seconds = control.reached
        print(
            f"reached {args.target:.4g} after {args.approx_evaluations} low-rank "
            f"+ {count} exact evaluations: {seconds:.0f} s"
        )


if __name__ == "__main__":
    main()
