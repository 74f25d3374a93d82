"""The ``paper`` presets paint as the paper's Figures 2 and 3 do (real weights, real images).

One α/β sweep from the same white noise at 128 px, with the presets' own steps, serves every
test: the paper's style loss falls ≥ 10× from the noise it starts at, ``paper-1e-4`` ends more
styled and less like the photo than ``paper``, and from 10⁻⁵ to 10⁻² the style loss rises and
the content loss falls at every step of the sweep, as the paper's Figure 3 goes from texture
to photo. The losses compared are the run's own (the presets' normalisation, config.PAPER_LOSSES).
"""
from __future__ import annotations

import pytest

from nst_core import StyleConfig
from nst_core.config import PAPER_LOSSES, PRESETS, PRINTED_SUMS

#: α/β → the preset that declares it (the others are ``paper`` with β changed)
SWEEP = {1e-5: "paper", 1e-4: "paper-1e-4", 1e-3: "paper", 1e-2: "paper"}


@pytest.fixture(scope="module")
def sweep(content_path, style_path):
    from nst_core.engine import stylize

    runs = {}
    for ratio, preset in SWEEP.items():
        first = []
        config = StyleConfig.from_preset(preset, size=128, seed=7, style_weight=PRESETS[preset].content_weight / ratio)
        result = stylize(str(content_path), str(style_path), config,
                         progress=lambda p: first.append(p.style_loss) if not first else None)
        runs[ratio] = (first[0], result)
    return runs


def test_paper_style_loss_falls_tenfold_from_white_noise(sweep):
    start, result = sweep[1e-3]
    assert PRESETS["paper"].init == "noise" and result.steps == PRESETS["paper"].steps
    assert result.style_loss * 10 <= start, (start, result.style_loss)
    assert not result.warnings


def test_paper_1e4_is_more_styled_than_paper(sweep):
    paper, stronger = sweep[1e-3][1], sweep[1e-4][1]
    assert stronger.style_loss < paper.style_loss
    assert stronger.content_loss > paper.content_loss


def test_sweep_goes_from_texture_to_photo(sweep):
    ratios = sorted(sweep)
    style = [sweep[r][1].style_loss for r in ratios]
    content = [sweep[r][1].content_loss for r in ratios]
    assert style == sorted(style) and len(set(style)) == len(style), style
    assert content == sorted(content, reverse=True) and len(set(content)) == len(content), content


def test_printed_sums_stay_reachable():
    printed = StyleConfig.from_preset("paper", **PRINTED_SUMS)
    assert (printed.content_reduction, printed.style_reduction) == ("sum", "printed")
    assert {k: getattr(PRESETS["paper"], k) for k in PAPER_LOSSES} == PAPER_LOSSES != PRINTED_SUMS


def test_per_filter_style_loss_is_the_printed_one_over_n():
    import torch

    from nst_core.losses import gram_per_position, style_layer_loss

    features = torch.rand(1, 8, 5, 6, dtype=torch.float64)
    target = gram_per_position(torch.rand(1, 8, 4, 4, dtype=torch.float64))
    printed = style_layer_loss(features, target, "printed")
    assert style_layer_loss(features, target, "per-filter").item() == pytest.approx(printed.item() / 8)


def test_cli_printed_sums_flag():
    from nst_core.cli import build_parser, config_from_args

    args = build_parser().parse_args(["photo.png", "painting.png", "--preset", "paper", "--printed-sums"])
    config = config_from_args(args)
    assert {k: getattr(config, k) for k in PRINTED_SUMS} == PRINTED_SUMS
