"""The presets' arithmetic mirrored in PyTorch, to measure it on an NVIDIA GPU (a benchmark, not a test).

The GPU machine this project can borrow has PyTorch and cuDNN but no TensorFlow (its wheel is too
large to carry there), so the engine itself cannot run on it. This script repeats, operation for
operation, what the `tutorial` and `balanced` presets compute: VGG19 up to `block5_conv2` with
cuDNN's convolutions (which TensorFlow also calls on NVIDIA GPUs), the tutorial's loss, its Adam
step with clipping, and `lbfgs.py`'s projected L-BFGS with the scaled float16 history and the
multiscale H0. Before it measures anything it checks itself against the engine's own losses and
gradient, computed here by `prepare` with the same weights, and stops if they differ.

    .venv/bin/python benchmarks/gpu_pytorch_port.py prepare gpu_bundle      # here, with the engine
    python3 benchmarks/gpu_pytorch_port.py measure gpu_bundle --json r.json  # on the GPU machine

`measure` reports, at 512 px (and 1024 px per evaluation): seconds per loss+gradient in float32,
TF32 (TensorFlow's default for float32 convolutions on NVIDIA GPUs since Ampere) and bfloat16
(what `auto` picks there), peak GPU memory, L-BFGS's own time per evaluation, and the benchmark's
ratio (`speed_vs_tutorial.py`) from whole runs of both presets. The weights are rounded to float16
to fit the transfer to that machine; both sides of every comparison use the rounded weights.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# These modules import no TensorFlow: the port reads the presets and constants from the engine itself.
from nst_engine.settings import CONTENT_LAYERS, PRESETS, STYLE_LAYERS  # noqa: E402
from nst_engine.vgg19 import BGR_MEANS  # noqa: E402

(CONTENT_LAYER,) = CONTENT_LAYERS
TUTORIAL, BALANCED = PRESETS["tutorial"], PRESETS["balanced"]
ARMIJO, FIRST_STEP_RMS = 1e-4, 1.0  # lbfgs.py's (which imports TensorFlow); checked by the first steps
PAIRS = ("the_scream", "starry_night")
CHECKED_STEPS = 6
"""The optimisers' first steps are checked against the engine's for this many evaluations: after
that, float32 rounding differences grow step by step (on the CPU the port's L-BFGS is within 6e-5
of the engine's after 6 evaluations, 8e-3 after 11; against itself with float64 convolutions 9e-4
after 12)."""


# --------------------------------------------------------------------------- prepare (TensorFlow)


def prepare(bundle: Path) -> None:
    """Weights (float16), the 512 px images as the benchmark sizes them, and the engine's answers."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from nst_engine import tensorflow_env

    tensorflow_env.prepare()  # before TensorFlow loads, as the engine does
    import tensorflow as tf
    from speed_vs_tutorial import load_pair, tutorial_objective

    from nst_engine import lbfgs, optimizers, weights
    from nst_engine.images import resize, scaled_size
    from nst_engine.vgg19 import VGG19Features, load_weights, preprocess

    assert (lbfgs.ARMIJO, lbfgs.FIRST_STEP_RMS) == (ARMIJO, FIRST_STEP_RMS)
    bundle.mkdir(parents=True, exist_ok=True)
    rounded = {
        name: (kernel.astype(np.float16), bias.astype(np.float16))
        for name, (kernel, bias) in load_weights(weights.locate(), up_to=CONTENT_LAYER).items()
    }
    np.savez(bundle / "weights.npz", **{f"{n}/{i}": a for n, pair in rounded.items() for i, a in enumerate(pair)})
    extractor = VGG19Features(
        {n: (k.astype(np.float32), b.astype(np.float32)) for n, (k, b) in rounded.items()},
        STYLE_LAYERS + [CONTENT_LAYER],
    )
    reference: dict = {}
    for style_name in PAIRS:
        content, style = load_pair("tubingen", style_name)
        objective = tutorial_objective(extractor, content, style, TUTORIAL.max_size)
        content_512 = resize(content, scaled_size((content.shape[1], content.shape[0]), TUTORIAL.max_size))
        style_512 = resize(style, scaled_size((style.shape[1], style.shape[0]), TUTORIAL.max_size))
        noise = np.random.default_rng(0).normal(0.0, 20.0, content_512.shape).astype(np.float32)
        perturbed = np.clip(content_512 + noise, 0.0, 255.0)
        x = tf.constant(preprocess(perturbed))
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = objective(x)[0]
        gradient = tape.gradient(total, x).numpy()[0]  # (H, W, 3), BGR
        np.savez(
            bundle / f"{style_name}.npz", content=content_512, style=style_512, perturbed=perturbed, gradient=gradient
        )
        at_content = objective.evaluate(content_512).total
        reference[style_name] = {"at_content": at_content, "at_perturbed": float(total)}
        if style_name == PAIRS[0]:  # the engine's first optimiser steps: the port must take the same
            lbfgs_options = {"memory": BALANCED.lbfgs_memory, "h0": lbfgs.multiscale(BALANCED.lbfgs_levels)}
            for name, run, options in (
                ("adam", optimizers.run_adam, {}),
                ("lbfgs", optimizers.run_lbfgs, lbfgs_options),
            ):
                losses = []
                record = lambda _i, terms, _image, losses=losses: losses.append(terms.total)  # noqa: E731
                run(objective, content_512, CHECKED_STEPS, on_step=record, **options)
                reference[style_name][name] = losses
        print(f"{style_name}: engine loss at the content image {at_content:.6e}, perturbed {float(total):.6e}")
    (bundle / "reference.json").write_text(json.dumps(reference, indent=1))
    print(f"bundle written to {bundle}")


# --------------------------------------------------------------------------- measure (PyTorch)


class Port:
    """`VGG19Features` and `Objective` in PyTorch: images (1, 3, H, W) rather than (1, H, W, 3)."""

    def __init__(self, bundle: Path, device: str, channels_last: bool) -> None:
        import torch

        self.torch, self.channels_last = torch, channels_last
        arrays = np.load(bundle / "weights.npz")
        self.layers: list[tuple[str, object, object]] = []
        for block, convs in enumerate([2, 2, 4, 4, 2], start=1):
            for conv in range(1, convs + 1):
                name = f"block{block}_conv{conv}"
                kernel = torch.tensor(arrays[f"{name}/0"].astype(np.float32)).permute(3, 2, 0, 1).contiguous()
                bias = torch.tensor(arrays[f"{name}/1"].astype(np.float32))
                self.layers.append((name, kernel.to(device), bias.to(device)))
            if block < 5:
                self.layers.append((f"block{block}_pool", None, None))
        self.cast = {}

    def weights(self, dtype):
        if dtype not in self.cast:
            fmt = self.torch.channels_last if self.channels_last else self.torch.contiguous_format
            self.cast[dtype] = [
                (
                    n,
                    None if k is None else k.to(dtype).contiguous(memory_format=fmt),
                    None if b is None else b.to(dtype),
                )
                for n, k, b in self.layers
            ]
        return self.cast[dtype]

    def features(self, image, dtype) -> list:
        """Style layers then the content layer, each handed back in float32 (as `VGG19Features`)."""
        f = self.torch.nn.functional
        x = image.to(dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=self.torch.channels_last)
        found = {}
        for name, kernel, bias in self.weights(dtype):
            x = f.max_pool2d(x, 2, 2) if kernel is None else f.relu(f.conv2d(x, kernel, bias, padding=1))
            if name in STYLE_LAYERS or name == CONTENT_LAYER:
                found[name] = x.float()
        return [found[n] for n in STYLE_LAYERS + [CONTENT_LAYER]]

    @staticmethod
    def gram(features):
        matrix = features.reshape(features.shape[1], -1)
        return matrix @ matrix.T / matrix.shape[1]

    def objective(self, content_bgr, style_bgr, weights: tuple[float, float]):
        """loss(x, dtype) -> (total, content, style) with targets computed once in float32."""
        with self.torch.no_grad():
            content_target = self.features(content_bgr, self.torch.float32)[-1]
            grams = [self.gram(t) for t in self.features(style_bgr, self.torch.float32)[:-1]]
        content_weight, style_weight = weights

        def loss(x, dtype):
            outputs = self.features(x, dtype)
            style = sum(((self.gram(o) - g) ** 2).mean() for o, g in zip(outputs[:-1], grams)) / len(grams)
            content = ((outputs[-1] - content_target) ** 2).mean()
            return content_weight * content + style_weight * style, content_weight * content, style_weight * style

        return loss


def to_bgr(rgb: np.ndarray, device: str):
    """Float RGB (H, W, 3) 0..255 -> (1, 3, H, W) BGR minus the ImageNet means, as `preprocess`."""
    import torch

    bgr = (rgb[:, :, ::-1] - BGR_MEANS).astype(np.float32)
    return torch.tensor(np.ascontiguousarray(bgr.transpose(2, 0, 1)[None]), device=device)


def set_tf32(enabled: bool) -> None:
    import torch

    torch.backends.cudnn.allow_tf32 = enabled
    torch.backends.cuda.matmul.allow_tf32 = enabled


def loss_and_gradient(loss, x, dtype):
    import torch

    x = x.detach().requires_grad_(True)
    total = loss(x, dtype)[0]
    (gradient,) = torch.autograd.grad(total, x)
    return total.detach(), gradient


def synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def pixel_box(device):
    """(low, high): the valid pixel range 0..255 in VGG's input space, per channel, as the engine's."""
    import torch

    low = torch.tensor(-BGR_MEANS, device=device).view(1, 3, 1, 1)
    return low, low + 255.0


def run_adam(loss, start, steps: int, dtype):
    """`optimizers.run_adam`: the tutorial's loop; the loss read back every step, as the engine does."""
    import torch

    low, high = pixel_box(start.device)
    lr, beta1, beta2, epsilon = TUTORIAL.learning_rate, TUTORIAL.beta1, TUTORIAL.beta2, TUTORIAL.epsilon
    x, m, v = start.clone(), torch.zeros_like(start), torch.zeros_like(start)
    best, best_loss, curve = x.clone(), math.inf, []
    synchronize()
    started = time.perf_counter()
    for t in range(1, steps + 1):
        total, grad = loss_and_gradient(loss, x, dtype)
        value = float(total)
        if value < best_loss:
            best, best_loss = x.clone(), value
        m.mul_(beta1).add_(grad, alpha=1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        alpha = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
        x = torch.minimum(torch.maximum(x - alpha * m / (v.sqrt() + epsilon), low), high)
        curve.append((time.perf_counter() - started, value))
    return best, curve


class History:
    """`lbfgs.History`: 16-bit pairs scaled to a largest element of 2**15, rho and γ from the rounded pair."""

    def __init__(self, memory: int, h0) -> None:
        self.pairs: deque = deque(maxlen=memory)
        self.h0, self.gamma = h0, None

    def clear(self) -> None:
        self.pairs.clear()
        self.gamma = None

    @staticmethod
    def narrow(v):
        import torch

        scale = torch.clamp(v.abs().max(), min=1e-30) / 2.0**15
        return (v / scale).half(), scale

    def add(self, s, y) -> bool:
        (s16, s_scale), (y16, y_scale) = self.narrow(s), self.narrow(y)
        s, y = s16.float() * s_scale, y16.float() * y_scale
        sy, yy = float((s * y).sum()), float((y * y).sum())
        if not sy > 1e-10 * yy:
            return False
        self.pairs.append((s16, y16, float(s_scale), float(y_scale), 1.0 / sy))
        self.gamma = sy / float((y * self.h0(y)).sum())
        return True

    def apply(self, q):
        if self.gamma is None:
            return self.h0(q)
        alphas = []
        for s16, y16, s_scale, y_scale, rho in reversed(self.pairs):
            alpha = rho * s_scale * (s16.float() * q).sum()
            q = q - (alpha * y_scale) * y16.float()
            alphas.append(alpha)
        r = self.gamma * self.h0(q)
        for (s16, y16, s_scale, y_scale, rho), alpha in zip(self.pairs, reversed(alphas)):
            beta = rho * y_scale * (y16.float() * r).sum()
            r = r + ((alpha - beta) * s_scale) * s16.float()
        return r


def multiscale(levels: int, weight: float = 2.0):
    """`lbfgs.multiscale`: v + Σ weightᵏ·UᵏDᵏv/4ᵏ with bilinear halving D (TF's SAME padding) and U = Dᵀ."""
    import torch

    f = torch.nn.functional
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0]) / 4.0
    kernel_cpu = (taps[:, None] * taps[None, :]).view(1, 1, 4, 4)

    def pads(n: int) -> tuple[int, int]:
        total = max((math.ceil(n / 2) - 1) * 2 + 4 - n, 0)
        return total // 2, total - total // 2

    def apply(v):
        kernel = kernel_cpu.to(v.device)
        down = [v.transpose(0, 1)]  # (C, 1, H, W): one blur per channel
        for _ in range(levels):
            (top, bottom), (left, right) = pads(down[-1].shape[2]), pads(down[-1].shape[3])
            down.append(f.conv2d(f.pad(down[-1], (left, right, top, bottom)), kernel, stride=2))
        acc = torch.zeros_like(down[-1])
        for k in range(levels, 0, -1):
            acc = (weight / 4.0) * (down[k] + acc)
            height, width = down[k - 1].shape[2:]
            top, left = pads(height)[0], pads(width)[0]
            acc = f.conv_transpose2d(acc, kernel, stride=2)[:, :, top : top + height, left : left + width]
        return v + acc.transpose(0, 1)

    return apply


def run_lbfgs(loss, start, evaluations: int, dtype):
    """`lbfgs.minimize` + `optimizers.run_lbfgs`: projected L-BFGS, Armijo backtracking, best point kept."""
    import torch

    low, high = pixel_box(start.device)
    state = {"count": 0, "best": math.inf, "x": None, "curve": [], "own": 0.0}
    synchronize()
    started = time.perf_counter()

    def evaluate(x):
        if state["count"] >= evaluations:
            raise StopIteration
        began = time.perf_counter()
        total, grad = loss_and_gradient(loss, x, dtype)
        value = float(total)
        state["count"] += 1
        if value < state["best"]:
            state["best"], state["x"] = value, x
        state["curve"].append((time.perf_counter() - started, value))
        state["own"] -= time.perf_counter() - began
        return value, grad

    x = torch.minimum(torch.maximum(start, low), high)
    history = History(BALANCED.lbfgs_memory, multiscale(BALANCED.lbfgs_levels))
    try:
        value, grad = evaluate(x)
        while True:
            pinned = ((x <= low) & (grad > 0)) | ((x >= high) & (grad < 0))
            free = 1.0 - pinned.float()
            direction = -free * history.apply(grad * free)
            slope = float((grad * direction).sum())
            if not slope < 0:
                history.clear()
                direction = -free * history.apply(grad * free)
                slope = float((grad * direction).sum())
            step = (
                1.0 if history.gamma is not None else FIRST_STEP_RMS / (float(direction.pow(2).mean().sqrt()) + 1e-12)
            )
            while True:
                candidate = torch.minimum(torch.maximum(x + step * direction, low), high)
                new_value, new_grad = evaluate(candidate)
                if new_value <= value + ARMIJO * float((grad * (candidate - x)).sum()):
                    break
                excess = new_value - value - slope * step
                trial = -slope * step * step / (2.0 * excess) if excess > 0 else 0.5 * step
                step = min(max(trial, 0.1 * step), 0.5 * step)
            history.add(candidate - x, new_grad - grad)
            x, value, grad = candidate, new_value, new_grad
    except StopIteration:
        pass
    synchronize()
    elapsed = time.perf_counter() - started
    state["own"] += elapsed  # what was not spent inside evaluations: L-BFGS's own work
    return state["x"], state["curve"], state["own"] / max(1, state["count"])


def timed(function, repeats: int) -> float:
    """Median seconds of `function()` after two warm-up calls."""
    for _ in range(2):
        function()
    synchronize()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        synchronize()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure(bundle: Path, device: str, quick: bool, out: Path | None) -> None:
    import torch

    reference = json.loads((bundle / "reference.json").read_text())
    weights = (TUTORIAL.content_weight, TUTORIAL.style_weight)
    torch.backends.cudnn.benchmark = True  # TensorFlow autotunes its cuDNN convolutions too
    name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    print(f"torch {torch.__version__}, device {name}", flush=True)
    report: dict = {"device": name, "torch": torch.__version__, "pairs": {}}
    precisions = {"float32": (torch.float32, False), "tf32": (torch.float32, True), "bfloat16": (torch.bfloat16, False)}

    # 1. The port against the engine: same losses and gradient, or nothing below is worth reading.
    set_tf32(False)
    port = Port(bundle, device, channels_last=False)
    for style_name in PAIRS:
        data = np.load(bundle / f"{style_name}.npz")
        loss = port.objective(to_bgr(data["content"], device), to_bgr(data["style"], device), weights)
        at_content = float(loss(to_bgr(data["content"], device), torch.float32)[0])
        x = to_bgr(data["perturbed"], device).requires_grad_(True)
        total = loss(x, torch.float32)[0]
        (gradient,) = torch.autograd.grad(total, x)
        engine_gradient = torch.tensor(data["gradient"].transpose(2, 0, 1)[None].copy(), device=device)
        gradient_error = float((gradient - engine_gradient).norm() / engine_gradient.norm())
        engine = reference[style_name]
        loss_error = max(
            abs(at_content / engine["at_content"] - 1), abs(float(total.detach()) / engine["at_perturbed"] - 1)
        )
        print(f"{style_name}: port vs engine, float32: loss rel. error {loss_error:.2e}, gradient {gradient_error:.2e}")
        report["pairs"][style_name] = {"loss_error": loss_error, "gradient_error": gradient_error}
        if loss_error > 1e-4 or gradient_error > 5e-3:  # float32 sums in another order: ~1e-3
            sys.exit(f"the port does not compute the engine's objective ({style_name}); nothing measured")
        for name, run in (("adam", run_adam), ("lbfgs", run_lbfgs)) if style_name == PAIRS[0] else ():
            start = to_bgr(data["content"], device)
            curve = run(loss, start, CHECKED_STEPS, torch.float32)[1]
            error = max(abs(value / expected - 1) for (_, value), expected in zip(curve, engine[name], strict=True))
            print(f"  {name}, first {CHECKED_STEPS} evaluations: largest rel. difference from the engine {error:.2e}")
            report["pairs"][style_name][f"{name}_error"] = error
            if error > 2e-4:
                sys.exit(f"the port's {name} does not take the engine's steps; nothing measured")
        # bfloat16 against float32 on this device, as tests/test_presets.py checks on the CPU.
        x16 = x.detach().requires_grad_(True)
        total16 = loss(x16, torch.bfloat16)[0]
        (gradient16,) = torch.autograd.grad(total16, x16)
        cosine = float((gradient16 * gradient).sum() / (gradient16.norm() * gradient.norm()))
        relative = float(total16.detach()) / float(total.detach()) - 1
        report["pairs"][style_name]["bfloat16"] = {"loss_error": relative, "cosine": cosine}
        print(f"  bfloat16 vs float32 here: loss {relative:+.2%}, gradient cosine {cosine:.4f}")

    # 2. Seconds per evaluation (loss + gradient) and peak memory, per precision, layout and size.
    data = np.load(bundle / "the_scream.npz")
    content, style = to_bgr(data["content"], device), to_bgr(data["style"], device)
    report["per_evaluation"] = []
    sizes = [1] if quick else [1, 2]
    for channels_last in (False, True):
        port = Port(bundle, device, channels_last)
        for factor in sizes:
            c = (
                torch.nn.functional.interpolate(content, scale_factor=factor, mode="bilinear")
                if factor > 1
                else content
            )
            s = torch.nn.functional.interpolate(style, scale_factor=factor, mode="bilinear") if factor > 1 else style
            for label, (dtype, tf32) in precisions.items():
                set_tf32(tf32)
                loss = port.objective(c, s, weights)
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                seconds = timed(
                    lambda loss=loss, c=c, dtype=dtype: loss_and_gradient(loss, c, dtype), 3 if quick else 20
                )
                peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")
                layout = "NHWC" if channels_last else "NCHW"
                size = tuple(c.shape[2:])
                report["per_evaluation"].append(
                    {"precision": label, "layout": layout, "size": size, "seconds": seconds, "peak_mib": peak}
                )
                print(f"  {label:9s} {layout} {size}: {seconds * 1e3:7.1f} ms, peak {peak:6.0f} MiB", flush=True)
    best_layout = min(report["per_evaluation"], key=lambda r: r["seconds"])["layout"] == "NHWC"

    # 3. The two-loop recursion alone, a full history, 512 px.
    history = History(BALANCED.lbfgs_memory, multiscale(BALANCED.lbfgs_levels))
    generator = torch.Generator(device=device).manual_seed(0)
    for _ in range(BALANCED.lbfgs_memory):
        s = torch.randn(content.shape, device=device, generator=generator)
        history.add(s, s * (1.0 + torch.rand(content.shape, device=device, generator=generator)))
    q = torch.randn(content.shape, device=device, generator=generator)
    report["two_loop_seconds"] = timed(lambda: history.apply(q), 3 if quick else 20)
    print(f"  two-loop recursion, full history, 512 px: {report['two_loop_seconds'] * 1e3:.2f} ms")

    # 4. Whole runs of `tutorial` (Adam) and `balanced` (L-BFGS) at 512 px, scored in float32.
    port = Port(bundle, device, best_layout)
    steps, evaluations = (4, 4) if quick else (TUTORIAL.total_iterations, BALANCED.total_iterations)
    for style_name in PAIRS:
        data = np.load(bundle / f"{style_name}.npz")
        content, style = to_bgr(data["content"], device), to_bgr(data["style"], device)
        set_tf32(False)
        score_loss = port.objective(content, style, weights)

        def score(image, score_loss=score_loss):
            with torch.no_grad():
                return float(score_loss(image, torch.float32)[0])

        runs = report["pairs"][style_name]["runs"] = {}
        tutorial_curves = {}
        for label in ("float32", "tf32"):
            dtype, tf32 = precisions[label]
            set_tf32(tf32)
            loss = port.objective(content, style, weights)
            best, curve = run_adam(loss, content, steps, dtype)
            tutorial_curves[label] = curve
            runs[f"tutorial {label}"] = {"seconds": curve[-1][0], "loss": score(best), "last_loss": curve[-1][1]}
            print(
                f"{style_name}: tutorial {label}: {curve[-1][0]:.1f} s, loss {runs[f'tutorial {label}']['loss']:.4e}",
                flush=True,
            )
        for label in ("float32", "tf32", "bfloat16"):
            dtype, tf32 = precisions[label]
            set_tf32(tf32)
            loss = port.objective(content, style, weights)
            best, curve, own = run_lbfgs(loss, content, evaluations, dtype)
            final = score(best)
            run = {"seconds": curve[-1][0], "loss": final, "lbfgs_own_seconds": own}
            for tutorial_label, tutorial_curve in tutorial_curves.items():
                # As speed_vs_tutorial.py: the tutorial's time to first reach `final`, or (">=") its full time.
                reached = next((t for t, value in tutorial_curve if value <= final), None)
                ratio = (reached or tutorial_curve[-1][0]) / run["seconds"]
                run[f"ratio vs tutorial {tutorial_label}"] = f"{'' if reached else '>= '}{ratio:.1f}"
            runs[f"balanced {label}"] = run
            print(
                f"{style_name}: balanced {label}: {run['seconds']:.1f} s, loss {final:.4e}, L-BFGS own "
                f"{own * 1e3:.1f} ms/evaluation, ratio {run['ratio vs tutorial float32']} (tutorial float32), "
                f"{run['ratio vs tutorial tf32']} (tutorial TF32)",
                flush=True,
            )
    if out:
        out.write_text(json.dumps(report, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["prepare", "measure"])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="a short check of the script itself")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.bundle)
    else:
        measure(args.bundle, args.device, args.quick, args.json)


if __name__ == "__main__":
    main()
