"""A watermark burnt into an image's pixels: the text repeated in rows across the whole picture,
dark with a light edge so it reads on any background. A page overlay can be left out of a
screenshot or a saved file; pixels cannot."""
from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG"}


def burn_in(data: bytes, media_type: str, text: str) -> bytes:
    """The image ``data`` (PNG or JPEG, as the platform stores them) re-encoded in its format with
    ``text`` drawn over it every few rows, each row shifted so no column stays clear."""
    fmt = _FORMATS.get(media_type)
    if fmt is None:
        raise ValueError(f"no watermark for {media_type}")
    with Image.open(io.BytesIO(data)) as src:
        src.load()
        profile = src.info.get("icc_profile")
        mode = src.mode if src.mode in ("RGB", "RGBA", "L", "LA") else "RGB"
        base = src.convert("RGBA")
    size = max(12, min(base.width, base.height) // 18)
    font = ImageFont.load_default(size)
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=1)
    step_x, step_y = (right - left) + 3 * size, (bottom - top) + 2 * size
    for row, y in enumerate(range(size // 2, base.height, step_y)):
        for x in range(-(row % 2) * step_x // 2, base.width, step_x):
            draw.text((x, y), text, font=font, fill=(20, 20, 20, 150), stroke_width=1,
                      stroke_fill=(255, 255, 255, 150))
    marked = Image.alpha_composite(base, layer)
    out = io.BytesIO()
    extra = {"icc_profile": profile} if profile else {}
    if fmt == "JPEG":
        marked.convert("L" if mode == "L" else "RGB").save(out, fmt, quality=90, **extra)
    else:
        marked.convert(mode).save(out, fmt, **extra)
    return out.getvalue()
