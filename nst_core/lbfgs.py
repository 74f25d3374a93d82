"""A small L-BFGS made for images: one loss-and-gradient evaluation per step, on any device.

Why not ``torch.optim.LBFGS`` without a line search: its first step is the gradient times
min(1, 1/‖g‖₁) and it keeps a curvature pair only if the absolute test yᵀs > 1e-10
passes. Both depend on the loss's magnitude: with a large loss the first step moves
pixels by ~10⁻⁵, every later pair fails the absolute test, and the run never leaves
those tiny steps (the user gets the photo back). Here every decision is scale-invariant —
multiplying the loss by any constant gives the same sequence of images:

* the first step (and any step without curvature history) is steepest descent scaled so
  the pixel that moves most moves ``first_step`` (0–1 units);
* a pair is kept when its curvature is positive *relative* to its lengths,
  yᵀs > ε ‖y‖ ‖s‖ (the angle between y and s is below 90° by a margin);
* the initial inverse Hessian is the usual yᵀs / yᵀy of the newest pair.

Every step is capped so no pixel moves more than ``max_step`` at once (a wild
quasi-Newton step on a nearly linear loss went to infinity once), and a non-finite loss
goes back to the last good image and forgets the history, so a run never ends in NaN. A
line search would cost a second evaluation per step.

Every decision is a tensor operation, so on a GPU the host never waits for the device
(nothing is read back); a refused pair keeps its slot with ρ = 0.
"""
from __future__ import annotations

from typing import Callable, Tuple

import torch

#: relative curvature test yᵀs > ε‖y‖‖s‖
CURVATURE_EPS = 1e-8


class ImageLBFGS:
    """Minimises ``closure() -> (loss, grad)`` over the tensor ``image`` in place."""

    def __init__(self, image: torch.Tensor, history_size: int = 20, max_step: float = 0.3, first_step: float = 0.05,
                 gamma=None):
        """``gamma``: a curvature scale yᵀs / yᵀy carried over from a run on a similar loss (the
        coarser scale's): the first step is then −γ·g, as large as that curvature says,
        instead of a cautious steepest-descent step."""
        self.image = image
        self.history_size = history_size
        self.max_step = max_step
        self.first_step = first_step
        self.history: list = []  # (s, y, rho), rho = 0 for pairs that were refused
        self.previous = None  # (image, grad, usable) of the last step
        zero = torch.zeros((), device=image.device)
        self.gamma = zero + 1.0 if gamma is None else zero + gamma
        self.carried = gamma is not None  #: the first step uses ``gamma``
        self.have_history = zero > 0

    def step(self, closure: Callable[[], Tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        loss, grad = closure()
        with torch.no_grad():
            finite = torch.isfinite(loss) & torch.isfinite(grad).all()
            grad = torch.where(finite, grad, torch.zeros_like(grad))
            if self.previous is not None:
                self._remember(grad, finite)
            # a non-finite evaluation forgets the curvature history
            self.history = [(s, y, rho * finite) for s, y, rho in self.history]
            self.have_history = self.have_history & finite
            direction = -torch.where(self.have_history, self._two_loop(grad), self._steepest(grad))
            largest = direction.abs().max()
            direction.mul_((self.max_step / largest.clamp_min(1e-30)).clamp(max=1.0))
            before = self.image.detach().clone()
            back = self.previous[0] if self.previous is not None else before
            self.image.copy_(torch.where(finite, before + direction, back))
            self.previous = (before, grad, finite)
        return loss

    def _remember(self, grad: torch.Tensor, finite: torch.Tensor) -> None:
        last_image, last_grad, usable = self.previous
        s = self.image - last_image
        y = grad - last_grad
        ys = (y * s).sum()
        yy = (y * y).sum()
        accept = finite & usable & (ys > CURVATURE_EPS * (yy * (s * s).sum()).sqrt())
        rho = torch.where(accept, 1.0 / torch.where(accept, ys, torch.ones_like(ys)), torch.zeros_like(ys))
        if len(self.history) == self.history_size:
            self.history.pop(0)
        self.history.append((s, y, rho))
        self.gamma = torch.where(accept, ys / yy.clamp_min(1e-30), self.gamma)
        self.have_history = self.have_history | accept

    def _steepest(self, grad: torch.Tensor) -> torch.Tensor:
        if self.carried:
            return grad * self.gamma
        return grad * (self.first_step / grad.abs().max().clamp_min(1e-30))

    def _two_loop(self, grad: torch.Tensor) -> torch.Tensor:
        q = grad.clone()
        alphas = []
        for s, y, rho in reversed(self.history):
            alpha = rho * (s * q).sum()
            q.sub_(y * alpha)
            alphas.append(alpha)
        q.mul_(self.gamma)
        for (s, y, rho), alpha in zip(self.history, reversed(alphas)):
            beta = rho * (y * q).sum()
            q.add_(s * (alpha - beta))
        return q
