"""``python -m bench --quality``: how the default preset's pictures compare with the paper's.

For every photo × painting pair of the development set (the project's examples, plus
``../shared/images`` and ``../shared/quality`` when they are there), the default preset
and the reference — the ``paper`` preset run to convergence (white-noise start, L-BFGS) —
each style the photo at the working size; every saved 8-bit output is judged by three
numbers (bench/judge.py): Gram style loss and content loss on the paper's normalised
network, and the palette distance to the painting. A contact sheet (photo | painting |
default | reference, one row a pair) goes to docs/ because pictures are judged by looking.

References take long on a CPU (500 steps at 384 px ≈ 6 min a pair on two cores), so each
is kept in the cache folder under a name that records the pair, size, steps and seed and is
reused by later runs: the standard run (8 pairs that use every photo and painting, 384 px)
fits in an hour on a 2-core CPU the first time and takes minutes after; ``--pairs 0
--quality-size 512 --reference-steps 1000`` is the full run, for a GPU.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import List, Optional

from PIL import Image, ImageDraw

from nst_core.config import PRESET_HINTS

from .report import Report

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
#: (folder with photos, folder with paintings), in this order; a name seen earlier wins
SOURCES = (
    (ROOT / "examples" / "content", ROOT / "examples" / "style"),
    (SHARED / "images" / "content", SHARED / "images" / "style"),
    (SHARED / "quality" / "photos", SHARED / "quality" / "paintings"),
)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: targets of the default against the reference (issue 8): style ≤ 1×, palette ≤ 1.25×, content ≤ 1.25×
TARGETS = {"style": 1.0, "palette": 1.25, "content": 1.25}
#: the default's time ≤ this share of the reference's
TIME_TARGET = 0.1
SHEET_ROW_PX = 128
#: references by name: a paper preset (its loss normalisation: nst_core.config.PAPER_LOSSES) run to convergence
REFERENCES = {"paper": ("paper", {}), "paper-1e-4": ("paper-1e-4", {})}
#: the standard run: pairs, working size, reference steps (what fits an hour on a 2-core CPU)
STANDARD = {"pairs": 8, "size": 384, "reference_steps": 500}


def development_set() -> tuple:
    """(photos, paintings): every image file of the sources that exist, one per name."""
    found: List[dict] = [{}, {}]
    for folders in SOURCES:
        for kind, folder in enumerate(folders):
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    if path.suffix.lower() in IMAGE_SUFFIXES:
                        found[kind].setdefault(path.stem, path)
    return list(found[0].values()), list(found[1].values())


def ordered_pairs(photos: list, paintings: list) -> list:
    """Every photo × painting pair, ordered so that any first max(photos, paintings) pairs
    already use every photo and every painting (``--pairs 6`` is a fair small sample).

    Pair k is (photo k mod P, painting (k + ⌊k / lcm(P, Q)⌋) mod Q): each block of lcm(P, Q)
    pairs walks the diagonals, the next block is shifted by one painting.
    """
    count_p, count_q = len(photos), len(paintings)
    block = math.lcm(count_p, count_q)
    return [(photos[k % count_p], paintings[(k + k // block) % count_q]) for k in range(count_p * count_q)]


def _prepare(source: Path, size: int, out: Path) -> Path:
    """``source`` at long side ``size`` as PNG (what every run and the judge read)."""
    if not out.exists():
        image = Image.open(source).convert("RGB")
        scale = size / max(image.size)
        image.resize((max(16, round(image.width * scale)), max(16, round(image.height * scale))), Image.LANCZOS).save(out)
    return out


def _stylize(content: Path, style: Path, preset: str, out: Path, overrides: dict) -> float:
    from nst_core import StyleConfig, stylize

    preset, fixed = REFERENCES.get(preset, (preset, {}))
    config = StyleConfig.from_preset(preset, output_size="working", **fixed, **overrides)
    started = time.perf_counter()
    result = stylize(str(content), str(style), config)
    seconds = time.perf_counter() - started
    result.to_pil().save(out)
    for warning in result.warnings:
        print(f"    warning: {warning}", flush=True)
    return seconds


def run(report: Report, size: int, reference_steps: int, cache: Path, limit: Optional[int], preset: str,
        sheet: Path, reference: str = "paper", seed: int = 0) -> dict:
    """Judge ``preset`` against the reference on every pair; returns the summary."""
    from .judge import Judge, edge_correlation, palette_distance

    photos, paintings = development_set()
    pairs = ordered_pairs(photos, paintings)[:limit or None]
    cache.mkdir(parents=True, exist_ok=True)
    report.heading(f"Quality: `{preset}` against the paper's result ({size} px, {len(pairs)} pairs)")
    base, fixed = REFERENCES[reference]
    report.line(f"Reference `{reference}`: the `{base}` preset ({PRESET_HINTS[base]})"
                + (f" with {', '.join(f'{k} = {v}' for k, v in fixed.items())}" if fixed else "")
                + f", run for {reference_steps} steps; "
                f"judged on each saved 8-bit output at {size} px by the paper's normalised network (style: "
                "Σ⅕E_l over relu1_1…relu5_1; content: ½Σ(F−P)² at relu4_2) and the palette distance to the "
                "painting (sliced Wasserstein-1 of RGB pixels, 0–1); edges: the correlation of the output's "
                "luminance edges with the photo's (bench/judge.edge_correlation: how much of the photo's forms it "
                "keeps; not a target). Ratios are the default's over the "
                f"reference's; targets: style ≤ {TARGETS['style']}, palette ≤ {TARGETS['palette']}, content ≤ "
                f"{TARGETS['content']}, time ≤ {TIME_TARGET} of the reference's.")
    rows, summary, sheet_rows = [], [], []
    for photo, painting in pairs:
        name = f"{photo.stem}×{painting.stem}"
        content = _prepare(photo, size, cache / f"photo_{photo.stem}_{size}.png")
        style = _prepare(painting, size, cache / f"painting_{painting.stem}_{size}.png")
        ref_out = cache / f"{reference}_{photo.stem}_{painting.stem}_{size}_{reference_steps}_{seed}.png"
        ref_time_file = ref_out.with_suffix(".json")
        if not ref_out.exists():
            seconds = _stylize(content, style, reference, ref_out, dict(size=size, steps=reference_steps, seed=seed))
            ref_time_file.write_text(json.dumps({"seconds": seconds}))
        ref_seconds = json.loads(ref_time_file.read_text())["seconds"]
        out = cache / f"{preset}_{photo.stem}_{painting.stem}_{size}.png"
        seconds = _stylize(content, style, preset, out, dict(size=size, seed=seed))
        judge = Judge(content, style)
        scores = {}
        for label, path in (("default", out), ("reference", ref_out)):
            c, s = judge(path)
            scores[label] = {"content": c, "style": s, "palette": palette_distance(path, style),
                             "edges": edge_correlation(path, content)}
        ratios = {k: scores["default"][k] / scores["reference"][k] for k in TARGETS}
        time_ratio = seconds / ref_seconds
        ok = all(ratios[k] <= TARGETS[k] for k in TARGETS)
        photo_palette = palette_distance(content, style)
        summary.append({"pair": name, "seconds": seconds, "reference_seconds": ref_seconds, "ratios": ratios,
                        "time_ratio": time_ratio, "ok": ok, "scores": scores, "photo_palette": photo_palette})
        d, r = scores["default"], scores["reference"]
        rows.append([name, f"{seconds:.1f}", f"{d['style']:.3g}", f"{d['palette']:.3f}", f"{d['content']:.3g}",
                     f"{ref_seconds:.0f}", f"{r['style']:.3g}", f"{r['palette']:.3f}", f"{r['content']:.3g}",
                     f"{photo_palette:.3f}", f"{d['edges']:.2f}", f"{r['edges']:.2f}", f"{ratios['style']:.2f}", f"{ratios['palette']:.2f}",
                     f"{ratios['content']:.2f}", f"{time_ratio:.3f}", "✓" if ok else "✗"])
        print(f"  {name}: {seconds:.1f} s; ratios style {ratios['style']:.2f} palette {ratios['palette']:.2f} "
              f"content {ratios['content']:.2f}", flush=True)
        sheet_rows.append((name, [content, style, out, ref_out]))
    report.table(["pair", "default s", "style", "palette", "content", "reference s", "ref. style", "ref. palette",
                  "ref. content", "photo's palette", "edges", "ref. edges", "style ×", "palette ×", "content ×", "time ×", "targets"], rows)
    if summary:
        met = sum(s["ok"] for s in summary)
        worst = {k: max(s["ratios"][k] for s in summary) for k in TARGETS}
        report.line(f"Pairs meeting every quality target: **{met} of {len(summary)}**; worst ratios: style "
                    f"{worst['style']:.2f}, palette {worst['palette']:.2f}, content {worst['content']:.2f}; "
                    f"slowest default {max(s['seconds'] for s in summary):.1f} s "
                    f"(time × ≤ {max(s['time_ratio'] for s in summary):.3f}).")
        contact_sheet(sheet_rows, sheet)
        report.line("")
        shown = sheet.relative_to(ROOT) if sheet.is_relative_to(ROOT) else sheet
        report.line(f"![photo | painting | {preset} | reference, one row a pair]({shown})")
    return {"pairs": summary}


def contact_sheet(rows: list, out: Path) -> None:
    """One row per pair: the images scaled to a common height, the pair's name above them."""
    label_h = 14
    tiles = []
    for name, paths in rows:
        row = []
        for path in paths:
            image = Image.open(path).convert("RGB")
            row.append(image.resize((max(1, round(image.width * SHEET_ROW_PX / image.height)), SHEET_ROW_PX),
                                    Image.LANCZOS))
        tiles.append((name, row))
    column_w = [max(row[i].width for _, row in tiles) for i in range(len(tiles[0][1]))]
    sheet = Image.new("RGB", (sum(column_w) + 4 * (len(column_w) + 1),
                              len(tiles) * (SHEET_ROW_PX + label_h + 4) + 4), "white")
    draw = ImageDraw.Draw(sheet)
    y = 4
    for name, row in tiles:
        draw.text((4, y), name, fill="black")
        x = 4
        for image, width in zip(row, column_w):
            sheet.paste(image, (x + (width - image.width) // 2, y + label_h))
            x += width + 4
        y += SHEET_ROW_PX + label_h + 4
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, quality=88)
