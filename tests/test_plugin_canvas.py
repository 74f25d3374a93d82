"""Krita at canvas scale, the plain-Python parts (issue 9): the settings one layer is styled
with (a selected patch gets the whole layer's brush scale, a finish too big for the memory is
lowered), the dialog's cost line, the remembered calibration and the engine's thread count."""
from __future__ import annotations

import pytest


def config(plugin, **options):
    import nst_core

    return plugin.engine_bridge.build_config(nst_core, "balanced", **options)


def test_detail_layer_finishes_at_the_layer_and_working_does_not(plugin):
    from nst_core import schedule

    sharp = config(plugin)  # the default
    soft = config(plugin, detail="working")
    assert max(schedule.levels((1714, 2468), sharp)[-1].size) == 2468
    assert max(schedule.levels((1714, 2468), soft)[-1].size) == 512
    with pytest.raises(Exception, match="Detail 'huge' is not one of layer, working"):
        config(plugin, detail="huge")


def test_a_selected_patch_gets_the_whole_layers_brush_scale(plugin):
    from nst_core import schedule

    base = config(plugin)
    whole = plugin.jobs.job_config(base, 1600, 2400)
    patch = plugin.jobs.job_config(base, 400, 600, whole_side=2400)
    assert (whole.size, whole.style_scale) == (512, 1.0)
    assert patch.size == 128 and patch.style_scale == pytest.approx(4.0)
    # at every level of both runs the painting spans as many canvas px: its strokes are as big on the canvas
    for job, hw, side in ((whole, (1600, 2400), 2400), (patch, (400, 600), 600)):
        for level in schedule.levels(hw, job):
            painting_long_side = max(level.size) * job.style_scale  # px of the level
            canvas_px_per_level_px = side / max(level.size)
            assert painting_long_side * canvas_px_per_level_px == pytest.approx(2400)
    # and the patch still finishes at its own size
    assert max(schedule.levels((400, 600), patch)[-1].size) == 600
    tiny = plugin.jobs.job_config(base, 20, 30, whole_side=3000)
    assert tiny.size == 30 and tiny.style_scale == 8.0  # never below the patch's own size, within range


def test_a_finish_too_big_for_the_free_memory_is_lowered(plugin, monkeypatch):
    from nst_core import memory, schedule

    monkeypatch.setattr(memory, "_meminfo_available", lambda: 100000 * 2**20)  # 100 GB free; the limits cap it
    base = config(plugin)
    content = (3000, 4500)
    full = memory.estimate(content, [(800, 1000)], 4500, "cpu", base.tile_size)
    monkeypatch.setenv("NST_MEMORY_LIMIT_MB", str(int(full * 0.5 / 2**20)))
    job = plugin.jobs.job_config(base, *content, 0, (800, 1000), "cpu")
    finest = schedule.finest_long_side(content, job)
    assert 512 < finest < 4500
    memory.check(content, [(800, 1000)], job, "cpu")  # what is left fits
    monkeypatch.setenv("NST_MEMORY_LIMIT_MB", "100000")
    assert plugin.jobs.job_config(base, *content, 0, (800, 1000), "cpu").finish_size == base.finish_size


def test_cost_line_names_the_size_the_time_and_warns_or_refuses(plugin, monkeypatch):
    from nst_core.schedule import Rate

    from nst_core import memory

    Shape, estimate = plugin.cost.Shape, plugin.cost.estimate
    # a machine with 100 GB free, whatever this one has free now (a busy CI machine had less, and the
    # 4096 px layers were then rightly lowered); the limits below cap it as a smaller machine's would
    monkeypatch.setattr(memory, "_meminfo_available", lambda: 100000 * 2**20)
    monkeypatch.setenv("NST_MEMORY_LIMIT_MB", "100000")
    rate = Rate("cpu", per_pixel=7e-6, per_tile=0.05)
    layer = [Shape(1714, 2468)]
    options = {"detail": "layer"}
    line = estimate("balanced", options, layer, (800, 1000), "cpu", "the CPU", rate, engine_loaded=True)
    assert line.text.startswith("2468 × 1714 px (the layer's own size) · about ") and "on the CPU" in line.text
    assert 60 < line.seconds < 600 and not line.long and line.problem is None
    soft = estimate("balanced", {"detail": "working"}, layer, (800, 1000), "cpu", "the CPU", rate, True)
    assert soft.text.startswith("512 × 356 px, then scaled to the layer") and soft.seconds < line.seconds / 2
    unknown = estimate("balanced", options, layer, (800, 1000), "cpu", "the CPU", None)
    assert unknown.text.endswith("measuring how fast the CPU is here…") and unknown.seconds is None
    big = estimate("quality", options, [Shape(4096, 4096)] * 3, (800, 1000), "cpu", "the CPU", rate, True)
    assert big.long and big.text.startswith("3 layers, up to 4096 × 4096 px") and "a long run" in big.text
    monkeypatch.setenv("NST_MEMORY_LIMIT_MB", "1500")
    refused = estimate("balanced", {"detail": "working", "size": 4096}, layer, (800, 1000), "cpu", "the CPU", rate)
    assert refused.problem.startswith("A working size of 4096 px needs about") and "or less" in refused.problem
    monkeypatch.setenv("NST_MEMORY_LIMIT_MB", "3000")
    capped = estimate("balanced", options, layer, (800, 1000), "cpu", "the CPU", rate)
    assert capped.problem is None and "as large as the free memory allows" in capped.text


def test_the_calibration_is_remembered_per_device(plugin):
    from nst_core.schedule import Rate

    settings = plugin.settings
    store = settings.MemoryStore()
    first = settings.PluginSettings.load(store)
    assert first.rate("cpu") is None and first.auto_device == ""
    first.remember_rate(Rate("cpu", 7e-6, 0.05))
    first.auto_device, first.auto_device_name = "cpu", "CPU"
    first.save(store)
    again = settings.PluginSettings.load(store)
    assert again.rate("cpu") == Rate("cpu", 7e-6, 0.05) and again.auto_device_name == "CPU"
    store.values[(settings.GROUP, "calibration")] = '{"cpu": {"per_pixel": -1, "per_tile": 0}}'  # hand-edited
    assert settings.PluginSettings.load(store).rate("cpu") is None


def test_thread_count_inside_krita(plugin):
    threads = plugin.threads
    assert threads.engine_threads(2, spins=True) == 3  # more than the cores: libgomp stops spinning
    assert threads.engine_threads(16, spins=True) == 17
    assert threads.engine_threads(2, spins=False) == 2 and threads.engine_threads(8, spins=False) == 7
    # this test process started torch itself, so nothing can be told about a spinning runtime
    threads.note_openmp()
    assert threads.openmp_spins() is False


def test_format_seconds_keeps_each_time_on_one_line(plugin):
    fmt = plugin.cost.format_seconds
    assert [fmt(s).replace(plugin.cost.NBSP, " ") for s in (0.2, 45, 65, 610, 3725)] == [
        "1 s", "45 s", "1 min 05 s", "10 min", "1 h 02 min"]
    assert fmt(None) == "estimating…"
