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


@dataclass(frozen=True)
class Settings:
    """Everything that decides what a run computes (inputs and outputs aside)."""

    max_size: int = 512
    iterations: int = 1000
    learning_rate: float = 5.0
    beta1: float = 0.99
    beta2: float = 0.999
    epsilon: float = 0.1
    content_weight: float = 1e3
    style_weight: float = 1e-2
    tv_weight: float = 0.0
    strength: float = 1.0
    style_scale: float = 1.0
    init: str = "content"
    seed: int | None = None
    style_weights: tuple[float, ...] = field(default=())
    preserve_colors: bool = False

    def validated(self) -> Settings:
        """Refuse values that cannot make sense, naming the option."""
        positive = ["max_size", "iterations", "learning_rate", "strength", "style_scale"]
        non_negative = ["content_weight", "style_weight", "tv_weight", "epsilon"]
        for item in fields(self):
            value = getattr(self, item.name)
            option = "--" + item.name.replace("_", "-")
            if isinstance(value, float) and not math.isfinite(value):
                raise BadInputError(f"{option} must be a finite number, not {value}")
            if item.name in positive and value <= 0:
                raise BadInputError(f"{option} must be greater than 0, not {value}")
            if item.name in non_negative and value < 0:
                raise BadInputError(f"{option} must not be negative, not {value}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise BadInputError(f"--{name} must be in [0, 1), not {getattr(self, name)}")
        if self.max_size < 16:
            raise BadInputError(f"--max-size must be at least 16 pixels, not {self.max_size}")
        if self.init not in ("content", "noise"):
            raise BadInputError(f"--init must be 'content' or 'noise', not {self.init!r}")
        if any(not math.isfinite(w) or w < 0 for w in self.style_weights) or (
            self.style_weights and sum(self.style_weights) <= 0
        ):
            raise BadInputError("--style-weights must be non-negative numbers with a positive sum")
        if self.content_weight == 0 and self.style_weight * self.strength == 0:
            raise BadInputError("content and style weights are both 0: there is nothing to optimise")
        return self


PRESETS: dict[str, Settings] = {
    # A first look in well under a minute: small and short.
    "preview": Settings(max_size=256, iterations=100),
    # The default: the reference objective and optimiser, fewer pixels and iterations.
    "balanced": Settings(max_size=384, iterations=300),
    # The reference algorithm exactly: 512 px, 1000 Adam steps.
    "tutorial": Settings(),
}
DEFAULT_PRESET = "balanced"


def preset(name: str, **overrides) -> Settings:
    """A preset with some fields replaced (None means 'keep the preset's value')."""
    if name not in PRESETS:
        raise BadInputError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}).validated()
