"""The Krita plugin's own logic in plain pytest, on the fake ``krita`` module (tests/mock/krita.py):
which pixels a job reads for a layer and a selection, the refusals in plain words, region masks
from selections and masks, where results are stacked, and a tiny run through the real engine.
How Krita itself behaves is judged by the real-Krita tests (tests/krita/); these check ours."""
from __future__ import annotations

import numpy as np
import pytest

W, H = 32, 24


def canvas(krita, model="RGBA", depth="U8", name="test"):
    return krita.Krita.instance().createDocument(W, H, name, model, depth, "", 72.0)


def add_layer(krita, doc, name, values=None, parent=None, kind="paintlayer"):
    """A layer of ``doc`` holding ``values`` (H×W×C, R, G, B, A order, 0–1) from the top-left corner."""
    node = doc.createNode(name, kind)
    (parent or doc.rootNode()).addChildNode(node, None)
    if values is not None:
        node.setPixelData(krita.pixels(values, doc.colorModel(), doc.colorDepth()), 0, 0,
                          values.shape[1], values.shape[0])
    return node


def photo(seed=0, height=H, width=W, channels=4):
    values = np.random.default_rng(seed).uniform(0.05, 0.95, (height, width, channels))
    values[..., -1] = 1.0
    return values


def refusal(call, *args, **kwargs) -> str:
    from plugin import errors

    with pytest.raises(errors.PluginError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def test_a_selection_reads_its_box_of_the_layer_and_its_strength(plugin, krita):
    doc = canvas(krita)
    values = photo()
    layer = add_layer(krita, doc, "photo", values)
    selection = krita.Selection()
    selection.select(5, 4, 10, 8, 255)
    selection.select(20, 10, 4, 4, 128)  # half selected
    doc.setSelection(selection)
    job = plugin.jobs.prepare(doc, layer, "starry_night")
    assert job.rect.args() == (5, 4, 19, 10)  # the selection's box, cut to the layer
    assert job.result_name == "Styled – photo (starry_night)" and job.whole_long_side == W
    assert np.abs(job.content - values[4:14, 5:24, :3]).max() < 1 / 255  # 8-bit rounding at most
    assert job.mask[:8, :10].min() == 1.0 and job.mask[6:10, 15:19] == pytest.approx(128 / 255)
    assert job.mask[8:, :10].max() == 0.0 and job.mask[:, 10:15].max() == 0.0
    assert np.all(job.alpha == 1.0)
    assert layer.pixelData(0, 0, W, H) == krita.pixels(values)  # reading changes nothing


def srgb(linear):
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


@pytest.mark.parametrize("model,depth,encoded", [("RGBA", "U8", False), ("RGBA", "U16", True),
                                                 ("RGBA", "F32", True), ("GRAYA", "U8", False)])
def test_every_storage_reaches_the_engine_as_srgb_rgb(plugin, krita, model, depth, encoded):
    """Integer RGBA is stored B, G, R, A; 16-bit and float layers are linear by Krita's default
    profile and reach the engine sRGB-encoded; grey is repeated into R, G and B."""
    doc = canvas(krita, model, depth)
    values = photo(channels=4 if model == "RGBA" else 2)
    job = plugin.jobs.prepare(doc, add_layer(krita, doc, "layer", values), "s")
    colour = np.repeat(values[..., :1], 3, axis=2) if model == "GRAYA" else values[..., :3]
    expected = srgb(colour) if encoded else colour
    assert job.content.shape == (H, W, 3) and job.mask is None
    assert np.abs(job.content - expected).max() < 1 / 255  # 8-bit rounding at most


def test_refusals_are_one_plain_line_and_add_nothing(plugin, krita):
    jobs = plugin.jobs
    cmyk = canvas(krita, "CMYKA", "U8")
    message = refusal(jobs.prepare, cmyk, cmyk.rootNode().childNodes()[0], "s")
    assert "8-bit CMYK" in message and "CMYKA" not in message and "\n" not in message
    doc = canvas(krita)
    layer = add_layer(krita, doc, "photo", photo())
    mask = add_layer(krita, doc, "sky", parent=layer, kind="selectionmask")
    assert "'sky' is a mask, not a layer" in refusal(jobs.prepare, doc, mask, "s")
    assert refusal(jobs.prepare, doc, doc.rootNode(), "s").startswith("The root node holds the whole image")
    stranger = add_layer(krita, canvas(krita, name="other"), "elsewhere", photo())
    assert refusal(jobs.prepare, doc, stranger, "s").startswith("The layer 'elsewhere' is not in the document 'test'")
    assert "is empty" in refusal(jobs.prepare, doc, add_layer(krita, doc, "blank"), "s")
    clear = photo()
    clear[..., 3] = 0.0  # colour without alpha: bounds, but nothing to see
    assert "is empty" in refusal(jobs.prepare, doc, add_layer(krita, doc, "clear", clear), "s")
    assert refusal(jobs.prepare, doc, None, "s").startswith("No layer is selected")
    assert refusal(jobs.prepare, doc, "photo", "s").startswith("str 'photo' is not a layer")
    corner = add_layer(krita, doc, "corner", photo(height=4, width=4))
    selection = krita.Selection()
    selection.select(20, 16, 6, 6, 255)
    doc.setSelection(selection)
    assert refusal(jobs.prepare, doc, corner, "s").startswith("The selection does not cover any pixel of the layer 'corner'")
    names = [n.name() for n in doc.rootNode().childNodes()]
    assert names == ["Background", "photo", "blank", "clear", "corner"]


def test_the_layers_to_style_are_the_selected_ones_or_the_active_one(plugin, krita):
    jobs = plugin.jobs
    doc = canvas(krita)
    first, second = add_layer(krita, doc, "first", photo()), add_layer(krita, doc, "second", photo(1))
    mask = add_layer(krita, doc, "m", parent=first, kind="transparencymask")
    view = krita.Krita.instance().openWindow().addView(doc)
    view.setSelectedNodes([first, mask, second])
    doc.setActiveNode(second)
    assert jobs.target_nodes(doc, "selected") == [first, second]  # masks are never styled
    assert jobs.target_nodes(doc, "active") == [second]
    view.setSelectedNodes([])
    assert jobs.target_nodes(doc, "selected") == [second]
    doc.setActiveNode(doc.rootNode())
    assert refusal(jobs.target_nodes, doc, "active").startswith("No layer is selected")


def test_a_style_layer_is_read_over_white_and_files_are_checked(plugin, krita, tmp_path):
    jobs = plugin.jobs
    doc = canvas(krita)
    values = np.zeros((4, 4, 4))
    values[..., 2] = values[..., 3] = 1.0
    values[0, 0, 3] = 0.0
    node = add_layer(krita, doc, "blue paint", values)
    style = jobs.resolve_style(doc, node)
    assert style.label == "blue paint" and style.node_id == node.uniqueId() and style.image.shape == (4, 4, 3)
    assert style.image[1, 1].tolist() == [0.0, 0.0, 1.0] and style.image[0, 0].tolist() == [1.0, 1.0, 1.0]
    missing = str(tmp_path / "gone.jpg")
    assert refusal(jobs.resolve_style, doc, missing) == f"The style image '{missing}' does not exist: choose another file."
    assert refusal(jobs.resolve_style, doc, 12).startswith("The style int '12' is neither an image file nor a layer")
    assert refusal(jobs.resolve_style, doc, None).startswith("No style image is chosen")


def test_strokes_during_a_run_and_deleted_layers_are_noticed(plugin, krita):
    jobs = plugin.jobs
    doc = canvas(krita)
    layer = add_layer(krita, doc, "photo", photo())
    job = jobs.prepare(doc, layer, "s")
    assert not jobs.changed_since_read(job) and jobs.check_alive(job) is layer
    layer.setPixelData(krita.pixels(np.ones((2, 2, 4))), 3, 3, 2, 2)  # a stroke meanwhile
    assert jobs.changed_since_read(job)
    jobs.read(job, layer)
    assert not jobs.changed_since_read(job) and job.content[3, 3].tolist() == [1.0, 1.0, 1.0]
    layer.remove()
    assert refusal(jobs.check_alive, job).startswith("The layer 'photo' was deleted while it was being styled")
    doc.close()
    assert not jobs.changed_since_read(job)
    assert refusal(jobs.check_alive, job).startswith("The document was closed while it was being styled")


def test_a_result_goes_above_its_source_and_its_earlier_results(plugin, krita):
    jobs, layers = plugin.jobs, plugin.layers
    doc = canvas(krita)
    source = add_layer(krita, doc, "photo", photo())
    for name in ("Styled – photo (a)", "Styled – photo (b)", "Styled – photograph (c)", "top"):
        add_layer(krita, doc, name)
    new = doc.createNode(jobs.result_name("photo", "d"), "paintlayer")
    layers.insert_above(source, new, lambda sibling: jobs.is_result_of(sibling, source.name()))
    assert [n.name() for n in doc.rootNode().childNodes()] == [
        "Background", "photo", "Styled – photo (a)", "Styled – photo (b)", "Styled – photo (d)",
        "Styled – photograph (c)", "top"]
    source.remove()
    assert refusal(layers.insert_above, source, doc.createNode("late", "paintlayer")).startswith("The layer 'photo' was deleted")


def test_region_masks_come_from_selections_masks_and_layers(plugin, krita):
    regions = plugin.regions
    doc = canvas(krita)
    layer = add_layer(krita, doc, "photo", photo())
    rect = plugin.layers.node_rect(layer)
    selection = krita.Selection()
    selection.select(0, 0, 16, 24, 255)
    from_selection = regions.read_mask(doc, selection, rect)
    assert from_selection.shape == (H, W) and from_selection[:, :16].min() == 1.0 and from_selection[:, 16:].max() == 0.0
    sky = add_layer(krita, doc, "sky", parent=layer, kind="selectionmask")
    sky.setPixelData(bytes([64]) * (W * 6), 0, 0, W, 6)
    assert regions.read_mask(doc, sky, rect)[:6] == pytest.approx(np.full((6, W), 64 / 255))
    half = photo()
    half[12:, :, 3] = 0.0
    shape = add_layer(krita, doc, "shape", half)
    from_alpha = regions.read_mask(doc, shape, rect)
    assert from_alpha[:12].min() == 1.0 and from_alpha[12:].max() == 0.0
    ones = np.ones((3, 3), np.float32)
    assert regions.read_mask(doc, ones, rect) is ones and regions.read_mask(doc, None, rect) is None
    assert refusal(regions.read_mask, doc, "sky", rect) == ("A mask must be a layer or mask of the document, "
                                                           "a selection or an array, not str.")
    job = plugin.jobs.prepare(doc, layer, "a + b", use_selection=False)
    regions.attach(doc, [job], [selection, None], keep_rest=True)
    assert job.region_masks[1] is None and np.array_equal(job.mask, from_selection)


def test_regions_are_named_after_their_paintings(plugin, krita, tmp_path):
    regions = plugin.regions
    doc = canvas(krita)
    layer = add_layer(krita, doc, "photo", photo())
    assert refusal(regions.region_nodes, "masks", layer, None).startswith("The layer has no selection masks")
    for name in ("sea", "sky"):
        add_layer(krita, doc, name, parent=layer, kind="selectionmask")
    add_layer(krita, doc, "fade", parent=layer, kind="transparencymask")
    assert [n.name() for n in regions.region_nodes("masks", layer, None)] == ["sky", "sea"]  # top first
    group = doc.createGroupLayer("regions")
    doc.rootNode().addChildNode(group, None)
    assert refusal(regions.region_nodes, "group", layer, group).startswith("Choose a group whose layers mark")
    for name in ("town", "hills"):
        add_layer(krita, doc, name, parent=group)
    assert [n.name() for n in regions.region_nodes("group", layer, group)] == ["hills", "town"]
    (tmp_path / "Sky.jpg").write_bytes(b"")
    (tmp_path / "sky.txt").write_bytes(b"")
    main = str(tmp_path / "starry_night.jpg")
    assert regions.painting_for(" sky ", main, []) == str(tmp_path / "Sky.jpg")
    recent = tmp_path / "recent" / "sea.png"
    recent.parent.mkdir()
    recent.write_bytes(b"")
    assert regions.painting_for("sea", main, ["/nowhere/sea.png", str(recent)]) == str(recent)
    assert refusal(regions.painting_for, "sea", main, []).startswith("No painting found for the region 'sea'")


def test_a_tiny_layer_with_regions_runs_through_the_engine(plugin, krita, small_style):
    """Under the engine's smallest side the area and its masks are padded and the result cut
    back: the bytes cover the layer's area, its alpha is kept, the colours are styled."""
    import nst_core

    doc = canvas(krita)
    values = photo(height=10, width=12)
    values[0, 0, 3] = 0.5
    layer = add_layer(krita, doc, "tiny", values)
    selection = krita.Selection()
    selection.select(0, 0, 6, 10, 255)
    job = plugin.jobs.prepare(doc, layer, "two", use_selection=False)
    plugin.regions.attach(doc, [job], [selection, None])
    style = plugin.jobs.StyleSource([small_style, small_style[::-1].copy()], "two")
    config = nst_core.StyleConfig.from_preset("fast", steps=2, size=16, device="cpu", seed=0,
                                             precision="fp32", fast_conv=False)  # no speed probe
    data = plugin.jobs.style_job(nst_core, job, style, config)
    out = plugin.layers.decode(data, 12, 10, job.fmt)
    assert out.shape == (10, 12, 4) and np.abs(out[..., 3] - values[..., 3]).max() < 1 / 255
    assert np.abs(out[..., :3] - values[..., :3]).mean() > 0.02  # styled, not the photo
    sky, other = job.region_masks[0], np.ones((4, 4), np.float32)
    padded = plugin.jobs.pad_masks([sky, None, other], 10, 12, 6, 4)  # as the content: edges repeated
    assert padded[0].shape == (16, 16) and np.array_equal(padded[0][:10, :12], sky)
    assert np.array_equal(padded[0][10:, :12], np.repeat(sky[-1:], 6, axis=0)) and padded[0][:, 12:].min() == 0.0
    assert padded[1] is None and padded[2] is other  # masks of another size are stretched by the engine


def test_the_api_refuses_before_anything_changes(plugin, krita):
    import nst_core

    from plugin import api

    assert refusal(api.stylize_layers, None, None, "x.jpg").startswith("No document is open")
    assert refusal(api.stylize_layers, 12, None, "x.jpg").startswith("int '12' is not a document")
    doc = canvas(krita)
    layer = add_layer(krita, doc, "photo", photo())
    stranger = add_layer(krita, canvas(krita, name="other"), "elsewhere", photo())
    with pytest.raises(nst_core.BadConfig, match=r"^Unknown preset 'ultra': use one of "):
        api.stylize_layers(doc, layer, "x.jpg", preset="ultra")
    assert "is not in the document 'test'" in refusal(api.stylize_layers, doc, [layer, stranger], "x.jpg")
    assert refusal(api.stylize_layers, doc, layer, "/no/such.jpg").startswith("The style image '/no/such.jpg' does not")
    assert [n.name() for n in doc.rootNode().childNodes()] == ["Background", "photo"]


def test_keyframes_are_imported_at_their_times_holding_between_uneven_ones(plugin):
    """plugin/animation.py: Krita imports file i at first + i × step; uneven keyframes get held copies."""
    import importlib

    animation = importlib.import_module("plugin.animation")
    assert animation.import_plan([0, 2, 4], ["a", "b", "c"]) == (["a", "b", "c"], 0, 2)
    assert animation.import_plan([3, 6, 12], ["a", "b", "c"]) == (["a", "b", "b", "c"], 3, 3)
    files, first, step = animation.import_plan([0, 3, 4], ["a", "b", "c"])
    assert (first, step) == (0, 1) and files == ["a", "a", "a", "b", "c"]
