"""Box labels under image transforms, exact in pixel coordinates.

A box is the platform's ``{"label", "x", "y", "w", "h"}`` (annotation/export_formats.py): the
pixels ``x <= px < x + w`` and ``y <= py < y + h`` of the stored image, (x, y) its top-left
corner. A pixel column ``px`` of an image ``W`` wide is the interval ``[px, px + 1)``, so a
horizontal flip maps pixel ``px`` to ``W - 1 - px`` and the box ``[x, x + w)`` to
``[W - x - w, W - x)``; a vertical flip likewise with ``H``.

Crop: the image's rectangle ``[left, left + width) x [top, top + height)`` becomes the new image.
Each box is intersected with it and moved by ``(-left, -top)``. A box keeps its place only when
the visible share of its area (intersection area / box area) is at least ``min_visible``
(default 0.5); a box of zero area is kept when its clipped extent is not empty (it lies within
the crop, edges included) and dropped otherwise. Dropped boxes are reported, never silently lost.

Scale: the image resized to ``new_w x new_h``; every coordinate multiplied by ``new_w / W`` or
``new_h / H``, computed as fractions and written as the nearest float (integers stay integers
when the result is whole).

Brightness and other pixel-value changes leave boxes as they are.

Coordinates that are integers in and integer out stay ``int`` (flip, crop with integer
rectangles); any other field of a box (a score, an id) is kept.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

Box = Mapping[str, Any]
DEFAULT_MIN_VISIBLE = 0.5


def _exact(v: Fraction) -> int | float:
    return int(v) if v.denominator == 1 else float(v)


def _frac(v: Any) -> Fraction:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"not a number: {v!r}")
    return Fraction(v)


def _with(box: Box, **coords: Fraction) -> dict[str, Any]:
    return {**box, **{k: _exact(v) for k, v in coords.items()}}


def flip_horizontal(boxes: Sequence[Box], width: int) -> list[dict[str, Any]]:
    w_img = Fraction(width)
    return [_with(b, x=w_img - _frac(b["x"]) - _frac(b["w"])) for b in boxes]


def flip_vertical(boxes: Sequence[Box], height: int) -> list[dict[str, Any]]:
    h_img = Fraction(height)
    return [_with(b, y=h_img - _frac(b["y"]) - _frac(b["h"])) for b in boxes]


@dataclass(frozen=True)
class CropResult:
    boxes: list[dict[str, Any]]
    dropped: list[dict[str, Any]]  # the source's boxes left out, as they were


def crop(boxes: Sequence[Box], left: int, top: int, width: int, height: int,
         min_visible: float = DEFAULT_MIN_VISIBLE) -> CropResult:
    """The boxes within the crop rectangle, clipped to it and in its coordinates (see above)."""
    x0, y0, x1, y1 = Fraction(left), Fraction(top), Fraction(left + width), Fraction(top + height)
    keep_share = Fraction(min_visible)
    kept, dropped = [], []
    for b in boxes:
        bx, by, bw, bh = (_frac(b[k]) for k in ("x", "y", "w", "h"))
        cx0, cy0 = max(bx, x0), max(by, y0)
        cx1, cy1 = min(bx + bw, x1), min(by + bh, y1)
        if cx1 < cx0 or cy1 < cy0:
            dropped.append(dict(b))
            continue
        area = bw * bh
        visible = (cx1 - cx0) * (cy1 - cy0)
        if area > 0 and visible / area < keep_share:
            dropped.append(dict(b))
            continue
        kept.append(_with(b, x=cx0 - x0, y=cy0 - y0, w=cx1 - cx0, h=cy1 - cy0))
    return CropResult(kept, dropped)


def scale(boxes: Sequence[Box], width: int, height: int, new_width: int, new_height: int) -> list[dict[str, Any]]:
    sx, sy = Fraction(new_width, width), Fraction(new_height, height)
    return [_with(b, x=_frac(b["x"]) * sx, y=_frac(b["y"]) * sy, w=_frac(b["w"]) * sx, h=_frac(b["h"]) * sy)
            for b in boxes]


def scaled_size(width: int, height: int, factor: float) -> tuple[int, int]:
    """The size an image scaled by ``factor`` gets: each side rounded half up, at least 1."""
    f = Fraction(factor)
    return max(1, int(Fraction(width) * f + Fraction(1, 2))), max(1, int(Fraction(height) * f + Fraction(1, 2)))
