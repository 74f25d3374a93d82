"""The run's plan (nst_core/schedule.py): levels up to a layer's own size, their cost, progress."""
from __future__ import annotations

import math

import pytest

from nst_core import OutOfMemory, StyleConfig, calibrate, memory, schedule, stylize


def test_levels_go_on_above_the_working_size_up_to_the_finish_size():
    config = StyleConfig.from_preset("balanced", finish_size=2468)
    plan = schedule.levels((1714, 2468), config)
    sides = [max(level.size) for level in plan]
    assert sides[:3] == [256, 362, 512]  # the preset's own pyramid is unchanged
    assert sides[-1] == 2468 and plan[-1].size == (1714, 2468)
    ratios = [b / a for a, b in zip(sides, sides[1:])]
    assert all(abs(r - math.sqrt(2)) < 0.01 for r in ratios[:-1])  # √2 apart …
    assert math.sqrt(2) - 0.01 < ratios[-1] < math.sqrt(2) * schedule.FINISH_LAST_GAIN  # … one last jump to the finish
    assert [level.refine for level in plan] == [False] * 3 + [True] * (len(plan) - 3)
    steps = [level.steps for level in plan]
    assert steps == sorted(steps, reverse=True) and steps[-1] >= 1  # most steps where they are cheap
    assert all(level.tiles > 1 for level in plan if max(level.size) > config.tile_size)
    assert all(level.work >= level.size[0] * level.size[1] for level in plan)


def test_no_finish_size_is_the_preset_pyramid_and_a_finish_below_the_working_size_adds_nothing():
    balanced = StyleConfig.from_preset("balanced")
    plain = schedule.levels((1714, 2468), balanced)
    assert [max(level.size) for level in plain] == [256, 362, 512]
    assert schedule.levels((1714, 2468), StyleConfig.from_preset("balanced", finish_size=400)) == plain
    # a finish within 5 % of the working size is not worth a level of its own
    assert schedule.levels((1714, 2468), StyleConfig.from_preset("balanced", finish_size=530)) == plain
    # and it never goes past the content's own size
    small = schedule.levels((300, 450), StyleConfig.from_preset("balanced", finish_size=4000))
    assert max(small[-1].size) == 512


def test_progress_counts_fine_steps_by_their_cost():
    plan = schedule.levels((1714, 2468), StyleConfig.from_preset("balanced", finish_size=2468))
    total = schedule.total_steps(plan)
    fractions = [schedule.done_fraction(plan, step) for step in range(total + 1)]
    assert fractions[0] == 0 and fractions[-1] == 1.0
    assert all(b > a for a, b in zip(fractions, fractions[1:]))
    coarse = sum(level.steps for level in plan[:3])
    assert fractions[coarse] < 0.5  # the preset's 78 steps are under half the work at 2468 px
    # the time left follows the work, not the step count
    assert schedule.remaining_seconds(plan, coarse, 60.0) > 60.0 * (total - coarse) / coarse
    assert schedule.remaining_seconds(plan, 0, 0.0) is None


def test_rate_turns_a_plan_into_seconds():
    plan = schedule.levels((1714, 2468), StyleConfig.from_preset("balanced", finish_size=2468))
    rate = schedule.Rate("cpu", per_pixel=7e-6, per_tile=0.05)
    expected = sum((level.steps + schedule.TARGET_STEPS) * (level.tiles * 0.05 + level.work * level.cost * 7e-6)
                   for level in plan)
    assert schedule.seconds(plan, rate) == pytest.approx(expected)
    assert schedule.seconds(plan[:3], rate) < schedule.seconds(plan, rate) / 2


def test_refining_levels_cost_what_their_shorter_network_costs():
    from nst_core.architecture import multiplies_per_pixel

    plan = schedule.levels((1714, 2468), StyleConfig.from_preset("balanced", finish_size=2468))
    share = plan[-1].cost
    assert 0.2 < share < 0.4  # the network stops at relu2_1 instead of relu5_1 (measured ~0.28, BENCHMARKS.md)
    assert [level.cost for level in plan] == [1.0] * 3 + [share] * (len(plan) - 3)
    # matching every style layer above the working size too costs a working level's price there
    every = schedule.levels((1714, 2468), StyleConfig.from_preset("balanced", finish_size=2468, refine_layers=()))
    assert [level.cost for level in every] == [1.0] * len(every)
    # the network's cost is its convolutions': conv1_1 alone is 3 × 64 × 9 multiply-adds a pixel
    assert multiplies_per_pixel("conv1_1") == 3 * 64 * 9 and multiplies_per_pixel("pool1") == multiplies_per_pixel("relu1_2")


def test_a_refined_result_seen_at_the_working_size_is_the_working_sizes_picture(small_style):
    """Above the working size a level adds finer detail and keeps the picture (StyleConfig.refine_anchor):
    the layer-sized result, shrunk to the working size, is the working-size result."""
    import numpy as np
    from PIL import Image

    from conftest import EXAMPLES
    from nst_core import images

    photo = np.asarray(Image.open(EXAMPLES / "content" / "coffee.png").convert("RGB").resize((192, 128)),
                       dtype=np.float32) / 255
    common = dict(size=64, scales=2, steps=8, step_ratio=1.0, seed=0, min_scale_size=16)
    working = stylize(photo, small_style, StyleConfig.from_preset("fast", output_size="working", **common)).image

    def shrunk(**settings):
        result = stylize(photo, small_style, StyleConfig.from_preset("fast", finish_size=192, **common, **settings))
        assert result.image.shape[:2] == photo.shape[:2]
        return images.resize_array(result.image, working.shape[:2])

    # the working-size picture as the layer-sized one would be if nothing changed above the working size,
    # below the finest fifth of its frequencies (which the levels above re-paint: images.band_limit, issue 21)
    def below(rgb):
        return images.to_numpy(images.band_limit(images.to_tensor(np.ascontiguousarray(rgb[..., :3])), images.BAND_TAPER))

    seen = below(images.resize_array(images.resize_array(working, photo.shape[:2]), working.shape[:2]))
    held = np.abs(below(shrunk()) - seen).mean()
    free = np.abs(below(shrunk(refine_anchor=0, refine_layers=())) - seen).mean()  # every layer, nothing held
    assert held < 0.03 and held < 0.5 * free, (held, free)


def test_refining_levels_start_with_the_photos_detail(small_content, small_style):
    """A finish far above the working size with one step a level: still as sharp as the photo."""
    import numpy as np

    def detail(rgb):
        g = rgb[..., :3].mean(axis=2)
        return np.abs(4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]).mean()

    from PIL import Image

    from conftest import EXAMPLES

    photo = np.asarray(Image.open(EXAMPLES / "content" / "coffee.png").convert("RGB").resize((240, 160)),
                       dtype=np.float32) / 255
    common = dict(size=48, scales=2, steps=3, step_ratio=0.3, seed=0, min_scale_size=16)
    sharp = stylize(photo, small_style, StyleConfig.from_preset("fast", finish_size=240, **common))
    soft = stylize(photo, small_style, StyleConfig.from_preset("fast", **common))
    assert detail(sharp.image) >= 0.8 * detail(photo) > 2 * detail(soft.image)


def test_a_run_with_a_finish_size_goes_through_the_planned_levels_to_the_content_size(small_content, small_style):
    config = StyleConfig.from_preset("fast", size=48, scales=2, steps=4, finish_size=96, min_scale_size=16,
                                     seed=0, tile_size=64, tile_overlap=16)
    plan = schedule.levels(small_content.shape[:2], config)
    assert max(plan[-1].size) == 96 and plan[-1].tiles > 1  # the finest level is tiled
    reports = []
    result = stylize(small_content, small_style, config, progress=reports.append)
    seen = []
    for report in reports:
        if not seen or seen[-1] != tuple(report.size):
            seen.append(tuple(report.size))
    assert seen == [level.size for level in plan]
    assert reports[-1].total == schedule.total_steps(plan) == result.steps
    assert result.image.shape[:2] == small_content.shape[:2]


def test_the_memory_check_budgets_for_the_finish_size(small_content, small_style, monkeypatch):
    config = StyleConfig.from_preset("fast", size=64, finish_size=4000)
    content_hw = (3000, 4000)
    need = memory.estimate(content_hw, [small_style.shape[:2]], 4000, "cpu", config.tile_size)
    monkeypatch.setenv("NST_MEMORY_LIMIT_MB", str(int(need * 0.9 / 2**20)))
    with pytest.raises(OutOfMemory) as refused:
        memory.check(content_hw, [small_style.shape[:2]], config, "cpu")
    message = str(refused.value)
    assert message.startswith("Finishing at 4000 px needs about") and "choose a finish size of" in message


def test_calibration_measures_this_machine():
    rate = calibrate("cpu")
    assert rate.device == "cpu" and rate.per_pixel > 0 and rate.per_tile >= 0
    # a step at 512 px costs what the fitted line says it does, within reason (the calibration's own points)
    level = schedule.levels((341, 512), StyleConfig(size=512, scales=1))[0]
    assert 0.01 < rate.step_seconds(level) < 60


def test_finish_size_is_checked_in_words():
    from nst_core import BadConfig

    with pytest.raises(BadConfig, match="Finish size 8 is out of range"):
        StyleConfig.from_preset("balanced", finish_size=8)
    with pytest.raises(BadConfig, match="not a whole number"):
        StyleConfig.from_preset("balanced", finish_size=1.5)
