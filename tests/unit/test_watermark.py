"""A watermark burnt into an image: the pixels change across the whole picture, the format,
size and mode stay, and anything but PNG or JPEG is refused rather than passed unmarked."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from controller.watermark import burn_in

MARK = "p-003 · 10.200.0.5"


def _image(fmt: str, mode: str = "RGB", size=(320, 200), colour=(30, 40, 50)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour if mode == "RGB" else 40).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt, media_type, mode", [("PNG", "image/png", "RGB"), ("PNG", "image/png", "L"),
                                                   ("JPEG", "image/jpeg", "RGB")])
def test_the_mark_changes_pixels_across_the_whole_picture_and_keeps_format_size_and_mode(fmt, media_type, mode):
    data = _image(fmt, mode)
    out = burn_in(data, media_type, MARK)
    before, after = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(out))
    assert (after.format, after.size, after.mode) == (fmt, before.size, before.mode)
    diff = ImageChops.difference(after.convert("RGB"), before.convert("RGB")).convert("L")
    left, top, right, bottom = diff.point(lambda v: 255 if v > 24 else 0).getbbox()
    assert right - left > before.width * 0.8 and bottom - top > before.height * 0.8
    # Each quarter of the picture carries some of it: no corner can be cropped out clean.
    w, h = before.size
    for box in [(0, 0, w // 2, h // 2), (w // 2, 0, w, h // 2), (0, h // 2, w // 2, h), (w // 2, h // 2, w, h)]:
        assert diff.crop(box).getbbox() is not None, box


def test_a_small_image_is_marked_too():
    out = burn_in(_image("PNG", size=(40, 30)), "image/png", MARK)
    assert ImageChops.difference(Image.open(io.BytesIO(out)).convert("RGB"),
                                 Image.new("RGB", (40, 30), (30, 40, 50))).getbbox() is not None


def test_another_format_is_refused_not_served_unmarked():
    with pytest.raises(ValueError):
        burn_in(_image("GIF", mode="L"), "image/gif", MARK)
