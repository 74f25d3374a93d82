"""A small L-BFGS made for images: one loss-and-gradient evaluation per step.

torch.optim.LBFGS without a line search can take a wild first quasi-Newton step when
the loss is nearly linear (y = g₁ − g₀ tiny ⇒ a huge initial Hessian scale); with a
content start and luminance-only transfer that step went to infinity. Here the step is
capped so no pixel moves more than ``max_step`` (in 0–1 units) at once, and a
non-finite loss reverts to the last good image and forgets the curvature history, so a
run never ends in NaN. A line search would cost a second evaluation per step.
"""
from __future__ import annotations

from typing import Callable, List, Tuple

import torch


class ImageLBFGS:
    """Minimises ``closure() -> (loss, grad)`` over the tensor ``image`` in place."""

    def __init__(self, image: torch.Tensor, history_size: int = 20, max_step: float = 0.3):
        self.image = image
        self.history_size = history_size
        self.max_step = max_step
        self.s_history: List[torch.Tensor] = []
        self.y_history: List[torch.Tensor] = []
        self.rho_history: List[torch.Tensor] = []
        self.previous: Tuple[torch.Tensor, torch.Tensor] | None = None

    def _direction(self, grad: torch.Tensor) -> torch.Tensor:
        if not self.s_history:
            return -grad * min(1.0, 1.0 / float(grad.abs().sum().clamp_min(1e-12)))
        q = grad.clone()
        alphas = []
        for s, y, rho in zip(reversed(self.s_history), reversed(self.y_history), reversed(self.rho_history)):
            alpha = rho * (s * q).sum()
            q.sub_(y, alpha=float(alpha))
            alphas.append(alpha)
        y_last = self.y_history[-1]
        q.mul_(float((self.s_history[-1] * y_last).sum() / (y_last * y_last).sum()))
        for (s, y, rho), alpha in zip(zip(self.s_history, self.y_history, self.rho_history), reversed(alphas)):
            beta = rho * (y * q).sum()
            q.add_(s, alpha=float(alpha - beta))
        return -q

    def step(self, closure: Callable[[], Tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        loss, grad = closure()
        with torch.no_grad():
            if not torch.isfinite(loss) or not torch.isfinite(grad).all():
                self._revert()
                return loss
            if self.previous is not None:
                s = self.image - self.previous[0]
                y = grad - self.previous[1]
                ys = (y * s).sum()
                if ys > 1e-10:
                    if len(self.s_history) == self.history_size:
                        for history in (self.s_history, self.y_history, self.rho_history):
                            history.pop(0)
                    self.s_history.append(s)
                    self.y_history.append(y)
                    self.rho_history.append(1.0 / ys)
            direction = self._direction(grad)
            largest = float(direction.abs().max())
            if largest > self.max_step:
                direction.mul_(self.max_step / largest)
            self.previous = (self.image.detach().clone(), grad)
            self.image.add_(direction)
        return loss

    def _revert(self) -> None:
        if self.previous is not None:
            self.image.copy_(self.previous[0])
        self.s_history.clear()
        self.y_history.clear()
        self.rho_history.clear()
        self.previous = None
