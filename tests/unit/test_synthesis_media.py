"""Synthesis's tools on real media: images flipped pixel for pixel (RGB, RGBA, palette), cropped
and scaled to the promised size; audio sped up by the factor, noise mixed at the SNR asked
(after 16-bit rounding), reverb lengthening the clip; espeak-ng reading Chinese and English; a
wrong source named, never crashing."""
from __future__ import annotations

import io
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from annotation.synthesis import audio as mix
from annotation.synthesis.recipes import (
    AudioNoise,
    AudioReverb,
    AudioSpeed,
    ImageBrightness,
    ImageCrop,
    ImageFlip,
    ImageScale,
)
from controller.synthesis_media import MediaError, read_samples, speak, vary_audio, vary_image, voice_for, wav_bytes


def png(mode: str, size=(37, 23)) -> bytes:
    im = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    im = im.convert(mode) if mode != "P" else im.quantize(16)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
def test_a_flipped_image_is_the_source_pixel_for_pixel(tmp_path, mode):
    data = png(mode)
    src = Image.open(io.BytesIO(data)).convert("RGBA")
    w, h = src.size
    flipped = vary_image(data, ImageFlip("horizontal"), tmp_path)
    assert flipped.media_type == "image/png" and flipped.meta == {"width": w, "height": h}
    out = Image.open(io.BytesIO(flipped.data)).convert("RGBA")
    assert all(out.getpixel((x, y)) == src.getpixel((w - 1 - x, y)) for x in range(w) for y in range(h))
    down = Image.open(io.BytesIO(vary_image(data, ImageFlip("vertical"), tmp_path).data)).convert("RGBA")
    assert all(down.getpixel((x, y)) == src.getpixel((x, h - 1 - y)) for x in range(w) for y in range(h))


def test_crop_scale_and_brightness(tmp_path):
    data = png("RGB")
    src = Image.open(io.BytesIO(data))
    crop = vary_image(data, ImageCrop(left=5, top=3, width=20, height=10), tmp_path)
    assert crop.meta == {"width": 20, "height": 10}
    assert Image.open(io.BytesIO(crop.data)).getpixel((0, 0)) == src.getpixel((5, 3))
    with pytest.raises(MediaError) as exc:
        vary_image(data, ImageCrop(left=30, top=0, width=20, height=10), tmp_path)
    assert exc.value.reason == "crop_outside"
    assert vary_image(data, ImageScale(0.5), tmp_path).meta == {"width": 19, "height": 12}
    dark = Image.open(io.BytesIO(vary_image(data, ImageBrightness(0.5), tmp_path).data))
    assert np.asarray(dark, dtype=float).mean() == pytest.approx(np.asarray(src, dtype=float).mean() * 0.5, abs=1)
    with pytest.raises(MediaError) as exc:
        vary_image(b"not an image", ImageFlip(), tmp_path)
    assert exc.value.reason == "wrong_source"


def tone(seconds: float = 1.0) -> bytes:
    t = np.arange(int(16000 * seconds)) / 16000
    return wav_bytes(0.3 * np.sin(2 * np.pi * 440 * t))


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_audio_speed_noise_and_reverb(tmp_path):
    data = tone(2.0)
    # atempo keeps the pitch; its overlap-add window may shorten the ends by a few tens of ms
    assert vary_audio(data, AudioSpeed(2.0), tmp_path).meta["duration_s"] == pytest.approx(1.0, abs=0.05)
    assert vary_audio(data, AudioSpeed(0.5), tmp_path).meta["duration_s"] == pytest.approx(4.0, abs=0.05)
    noisy = vary_audio(data, AudioNoise(snr_db=10, seed=1), tmp_path)
    clean, got = read_samples(data), read_samples(noisy.data)
    scale = np.dot(got, clean) / np.dot(clean, clean)  # fit() may have scaled the mix down
    assert mix.snr_db(clean * scale, got - clean * scale) == pytest.approx(10, abs=0.1)
    wet = vary_audio(data, AudioReverb(rt60_s=0.5, wet=0.3), tmp_path)
    assert wet.meta["duration_s"] == pytest.approx(2.5, abs=0.01)
    with pytest.raises(MediaError) as exc:
        vary_audio(wav_bytes(np.zeros(1600)), AudioNoise(), tmp_path)
    assert exc.value.reason == "wrong_source" and "silent" in exc.value.message
    with pytest.raises(MediaError):
        vary_audio(b"RIFF nonsense", AudioNoise(), tmp_path)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_reads_chinese_and_english(tmp_path):
    assert voice_for("今天天气很好", "auto") == "cmn" and voice_for("hello", "auto") == "en"
    assert voice_for("hello", "zh") == "cmn"
    zh = speak("今天天气很好", "auto", 150, tmp_path)
    en = speak("-v --help the weather is fine", "auto", 150, tmp_path)  # the text is never an option
    assert zh.media_type == en.media_type == "audio/wav"
    assert zh.meta["sample_rate"] == 16000 and zh.meta["duration_s"] > 0.5 and en.meta["duration_s"] > 0.5
    with pytest.raises(MediaError) as exc:
        speak("   ", "auto", 150, tmp_path)
    assert exc.value.reason == "empty_text"
