"""Colour preservation (Gatys, Bethge, Hertzmann & Shechtman 2017, "Controlling
Perceptual Factors in Neural Style Transfer").

Painters often want a painting's brushwork without its palette. Two ways:

* ``luminance`` — transfer style on the luminance channel only, then put the content's
  colour (YIQ chroma) back. The style's luminance is first matched to the content's mean
  and spread so the two histograms agree.
* ``histogram`` — recolour the style image so its colour mean and covariance equal the
  content's, then transfer as usual.
"""
from __future__ import annotations

import numpy as np

#: Rec. 601 luma weights of R, G, B: the brightness every engine module means (YIQ's Y)
LUMA = (0.299, 0.587, 0.114)
_RGB_TO_YIQ = np.array(
    [LUMA, [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]],
    dtype=np.float64,
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


def rgb_to_yiq(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float64) @ _RGB_TO_YIQ.T).astype(np.float32)


def yiq_to_rgb(yiq: np.ndarray) -> np.ndarray:
    return np.clip(yiq.astype(np.float64) @ _YIQ_TO_RGB.T, 0.0, 1.0).astype(np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Luma Y (H×W) of an RGB image."""
    return rgb_to_yiq(rgb)[..., 0]


def grey_as_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(np.clip(grey, 0, 1)[..., None], 3, axis=2).astype(np.float32)


def match_luminance(style_rgb: np.ndarray, content_rgb: np.ndarray) -> np.ndarray:
    """The style's luminance, shifted and scaled to the content's mean and std, as grey RGB."""
    style_y, content_y = luminance(style_rgb), luminance(content_rgb)
    std = style_y.std()
    matched = (style_y - style_y.mean()) * (content_y.std() / std if std > 1e-6 else 1.0) + content_y.mean()
    return grey_as_rgb(matched)


def recombine_luminance(styled_rgb: np.ndarray, content_rgb: np.ndarray) -> np.ndarray:
    """The styled image's luminance with the content's chroma."""
    content_yiq = rgb_to_yiq(content_rgb)
    content_yiq[..., 0] = luminance(styled_rgb)
    return yiq_to_rgb(content_yiq)


def _sqrt_and_inverse_sqrt(covariance: np.ndarray):
    values, vectors = np.linalg.eigh(covariance)
    values = np.clip(values, 1e-8, None)
    root = (vectors * np.sqrt(values)) @ vectors.T
    inverse_root = (vectors / np.sqrt(values)) @ vectors.T
    return root, inverse_root


def match_histogram(style_rgb: np.ndarray, content_rgb: np.ndarray) -> np.ndarray:
    """Style recoloured by an affine map so its colour mean and covariance equal the content's."""
    style = style_rgb.reshape(-1, 3).astype(np.float64)
    content = content_rgb.reshape(-1, 3).astype(np.float64)
    mu_s, mu_c = style.mean(0), content.mean(0)
    cov_s = np.cov(style, rowvar=False) + 1e-6 * np.eye(3)
    cov_c = np.cov(content, rowvar=False) + 1e-6 * np.eye(3)
    _, inv_root_s = _sqrt_and_inverse_sqrt(cov_s)
    root_c, _ = _sqrt_and_inverse_sqrt(cov_c)
    transform = root_c @ inv_root_s
    recoloured = (style - mu_s) @ transform.T + mu_c
    return np.clip(recoloured, 0.0, 1.0).reshape(style_rgb.shape).astype(np.float32)
