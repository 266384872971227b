"""Run settings and the named presets that painters choose from.

A preset is a complete set of optimiser settings; every field can be overridden from the CLI.
`tutorial` is the reference algorithm (R. Yuan's TensorFlow tutorial, 2018) to the letter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

from .errors import BadInputError

CONTENT_LAYERS = ["block5_conv2"]
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
OPTIMIZERS = ("adam", "lbfgs")
PRECISIONS = ("auto", "float32", "bfloat16")
CONV_GRADIENTS = ("auto", "tensorflow", "flipped")
GRAM_GRADIENTS = ("tensorflow", "symmetric")
"""How the gradient through a float32 Gram matrix is computed (losses.py): TensorFlow's own (two
products, as the tutorial has it) or one product, as G is symmetric. The same arithmetic either way."""
INITS = ("content", "noise")
MIN_TILE_SIZE = 64
"""The smallest `--tile-size`: the tests ask for small tiles to stay fast. The memory plan itself
never makes tiles under `memory.MIN_TILE_SIDE`, where VGG19's deepest layers see mostly border."""


@dataclass(frozen=True)
class Settings:
    """Everything that decides what a run computes (inputs and outputs aside)."""

    max_size: int = 512
    # Coarse to fine: fractions of max_size, ascending, the last one 1; one iteration count each.
    scales: tuple[float, ...] = (1.0,)
    iterations: tuple[int, ...] = (1000,)
    optimizer: str = "adam"
    learning_rate: float = 5.0
    beta1: float = 0.99
    beta2: float = 0.999
    epsilon: float = 0.1
    lbfgs_memory: int = 20
    # L-BFGS's first inverse-Hessian guess also blurs over 2, 4, … 2^levels pixels, so
    # large smooth colour changes keep pace (lbfgs.multiscale); 0 = textbook L-BFGS.
    lbfgs_levels: int = 4
    # L-BFGS's first inverse-Hessian guess also weights each pixel by the inverse of its recent
    # gradients' size, as Adam does, so weak-gradient regions keep pace (lbfgs.PixelScaling).
    lbfgs_pixel_scaling: bool = False
    precision: str = "float32"
    # Which kernel computes the gradient through the convolutions (conv_gradient.py); the same
    # arithmetic either way. `tutorial` keeps TensorFlow's own, as the tutorial does.
    conv_gradient: str = "tensorflow"
    # How the gradient through the image's float32 Gram matrices is computed (losses.py): the
    # same arithmetic either way; "symmetric" makes one product where TensorFlow makes two.
    # `tutorial` keeps TensorFlow's. bfloat16 Gram matrices always take the one product.
    gram_gradient: str = "tensorflow"
    content_weight: float = 1e3
    style_weight: float = 1e-2
    tv_weight: float = 0.0
    strength: float = 1.0
    style_scale: float = 1.0
    init: str = "content"
    seed: int | None = None
    style_weights: tuple[float, ...] = field(default=())
    preserve_colors: bool = False
    # Full resolution: after the last scale, double the size up to the content's own, with
    # `refine_iterations` evaluations at the first doubling and half as many at each further one.
    full_resolution: bool = False
    refine_iterations: int = 40
    max_memory: int | None = None  # bytes; None = half the machine's RAM, or less if less is available (memory.py)
    tile_size: int | None = None  # largest tile side in pixels, when smaller than the memory plan's

    def validated(self) -> Settings:
        """Refuse values that cannot make sense, naming the option."""
        positive = ["max_size", "learning_rate", "strength", "style_scale", "lbfgs_memory", "refine_iterations"]
        non_negative = ["content_weight", "style_weight", "tv_weight", "epsilon", "lbfgs_levels"]
        for item in fields(self):
            value = getattr(self, item.name)
            option = "--" + item.name.replace("_", "-")
            if isinstance(value, float) and not math.isfinite(value):
                raise BadInputError(f"{option} must be a finite number, not {value}")
            if item.name in positive + ["max_memory", "tile_size"] and value is not None and value <= 0:
                raise BadInputError(f"{option} must be greater than 0, not {value}")
            if item.name in non_negative and value < 0:
                raise BadInputError(f"{option} must not be negative, not {value}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise BadInputError(f"--{name} must be in [0, 1), not {getattr(self, name)}")
        if self.tile_size is not None and self.tile_size < MIN_TILE_SIZE:
            raise BadInputError(f"--tile-size must be at least {MIN_TILE_SIZE} pixels, not {self.tile_size}")
        if self.seed is not None and self.seed < 0:
            raise BadInputError(f"--seed must be 0 or more, not {self.seed}")
        if self.max_size < 16:
            raise BadInputError(f"--max-size must be at least 16 pixels, not {self.max_size}")
        if any(not isinstance(n, int) or n < 1 for n in self.iterations):
            raise BadInputError(f"--iterations must be whole numbers of at least 1, not {self.iterations}")
        scales = self.scales
        if (
            not scales
            or any(not math.isfinite(s) or s <= 0 for s in scales)
            or list(scales) != sorted(set(scales))
            or scales[-1] != 1.0
        ):
            raise BadInputError(f"--scales must rise from above 0 to exactly 1, e.g. 0.5,1; not {scales}")
        if len(self.iterations) != len(scales):
            raise BadInputError(
                f"--iterations has {len(self.iterations)} values for {len(scales)} scales: give one per scale"
            )
        for name, allowed in (
            ("init", INITS),
            ("optimizer", OPTIMIZERS),
            ("precision", PRECISIONS),
            ("conv_gradient", CONV_GRADIENTS),
            ("gram_gradient", GRAM_GRADIENTS),
        ):
            if getattr(self, name) not in allowed:
                option = "--" + name.replace("_", "-")
                raise BadInputError(f"{option} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")
        if any(not math.isfinite(w) or w < 0 for w in self.style_weights) or (
            self.style_weights and sum(self.style_weights) <= 0
        ):
            raise BadInputError("--style-weights must be non-negative numbers with a positive sum")
        if self.content_weight == 0 and self.style_weight * self.strength == 0:
            raise BadInputError("content and style weights are both 0: there is nothing to optimise")
        return self

    @property
    def total_iterations(self) -> int:
        return sum(self.iterations)


PRESETS: dict[str, Settings] = {
    # A first look within seconds: 256 px, a few L-BFGS steps, bfloat16 where native. Blurs up to
    # 16 px in the first guess: 8 levels left speckled patches after 30 evaluations (starry_night).
    "preview": Settings(
        max_size=256,
        iterations=(30,),
        optimizer="lbfgs",
        lbfgs_memory=20,
        lbfgs_levels=4,
        precision="auto",
        conv_gradient="auto",
        gram_gradient="symmetric",
        refine_iterations=10,
    ),
    # The default: the tutorial's objective at 512 px, minimised by L-BFGS to below the tutorial's
    # final loss with both bundled pairs in 24 % of its evaluations (see docs/performance.md).
    # Twenty corrections (16-bit history: 240 bytes a pixel); a first inverse-Hessian guess that
    # also blurs over up to 64 px, so a sky can change colour as a whole (4 levels needed about 290
    # evaluations with the_scream, 6 levels about 250; 8 were worse with starry_night), and that
    # weights each pixel by its recent gradients (about 195-210 then, for both pairs). `preview`
    # leaves the weights out: they pay only after the first 60 or so evaluations.
    "balanced": Settings(
        iterations=(240,),
        optimizer="lbfgs",
        lbfgs_memory=20,
        lbfgs_levels=6,
        lbfgs_pixel_scaling=True,
        precision="auto",
        conv_gradient="auto",
        gram_gradient="symmetric",
    ),
    # The reference algorithm exactly: 512 px, 1000 Adam steps, float32.
    "tutorial": Settings(),
}
DEFAULT_PRESET = "balanced"


def split_iterations(total: int, shares: tuple[int, ...]) -> tuple[int, ...]:
    """Spread `total` evaluations over stages in the proportions of `shares` (each stage ≥ 1)."""
    weights = [s / sum(shares) for s in shares]
    counts = [max(1, round(total * w)) for w in weights[:-1]]
    return (*counts, max(1, total - sum(counts)))


def preset(name: str, **overrides) -> Settings:
    """A preset with some fields replaced (None means 'keep the preset's value').

    A single `iterations` value with several scales is the total, split as the preset splits it.
    """
    if name not in PRESETS:
        raise BadInputError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    base = PRESETS[name]
    changes = {k: v for k, v in overrides.items() if v is not None}
    scales = changes.get("scales", base.scales)
    iterations = changes.get("iterations", base.iterations)
    if isinstance(iterations, int):
        iterations = (iterations,)
    if len(iterations) == 1 and len(scales) > 1 and isinstance(iterations[0], int) and iterations[0] > 0:
        shares = base.iterations if len(base.iterations) == len(scales) else (1,) * len(scales)
        iterations = split_iterations(iterations[0], shares)
    changes["iterations"] = tuple(iterations)
    return replace(base, **changes).validated()
