"""What a run reports while it works and what it hands back."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from PIL import Image


@dataclass
class Progress:
    """One report per optimisation step."""

    step: int  #: steps done so far over all scales (1-based)
    total: int  #: steps the whole run will take
    scale: int  #: current scale, 1 = coarsest
    scales: int
    size: tuple  #: (height, width) being optimised now
    loss: float
    content_loss: float  #: L_content, unweighted
    style_loss: float  #: L_style = Σ w_l E_l, unweighted
    elapsed: float  #: seconds since the run started
    preview: Optional[np.ndarray] = None  #: H×W×3 float32 in 0–1, when asked for
    remaining: Optional[float] = None  #: seconds left, from the share of the run's work done (nst_core.schedule)


@dataclass
class StyleResult:
    """The styled image in the content's size and channel layout, and how it was made."""

    image: np.ndarray  #: H×W×3 or H×W×4 float32 in 0–1 (alpha copied from the content)
    steps: int
    seconds: float
    device: str
    seed: int
    content_loss: float
    style_loss: float
    losses: list = field(default_factory=list)  #: total loss after every step
    warnings: list = field(default_factory=list)  #: plain sentences about a result that may disappoint

    def to_uint8(self) -> np.ndarray:
        return np.round(np.clip(self.image, 0, 1) * 255.0).astype(np.uint8)

    def to_pil(self) -> Image.Image:
        array = self.to_uint8()
        return Image.fromarray(array, "RGBA" if array.shape[2] == 4 else "RGB")
