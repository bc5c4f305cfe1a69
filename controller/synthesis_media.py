"""The tools synthesis runs: espeak-ng to read text aloud, ffmpeg to change the pace of audio,
numpy (annotation/synthesis/audio.py) for noise and reverb, Pillow for image variations. What
comes out goes through the same normalisation as an import (controller/preprocess_media.py):
audio becomes 16 kHz mono 16-bit WAV, images are written from their pixels alone. Images come
out as PNG whatever they came in as, so a flipped pixel is exactly the source's pixel.

Each function raises ``MediaError`` with a short reason code and a message when a tool is
missing, fails, or the source is not what the recipe reads."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from annotation.intake import Kind, Refused
from annotation.synthesis import audio as mix
from annotation.synthesis.boxes import scaled_size
from annotation.synthesis.recipes import (
    AudioNoise,
    AudioReverb,
    AudioSpeed,
    ImageBrightness,
    ImageCrop,
    ImageFlip,
    ImageScale,
    Recipe,
)
from controller.preprocess_media import AUDIO_RATE, FFMPEG, Media, audio_to_wav, clean_image

ESPEAK = "espeak-ng"
VOICES = {"zh": "cmn", "en": "en"}
TIMEOUT_S = 120.0
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class MediaError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def tool_problem(recipe_kind: str) -> str | None:
    """Why this machine cannot make the recipe, or None when it can."""
    needs = {"speech_from_text": (ESPEAK, FFMPEG)}.get(recipe_kind, (FFMPEG,) if recipe_kind.startswith("audio_")
                                                       else ())
    for tool in needs:
        if shutil.which(tool) is None:
            package = "espeak-ng" if tool == ESPEAK else "ffmpeg"
            return f"{Path(tool).name} is not installed (Debian package {package}; scripts/setup.sh installs it)"
    return None


def voice_for(text: str, lang: str) -> str:
    if lang == "auto":
        lang = "zh" if _CJK.search(text) else "en"
    return VOICES[lang]


def _run(cmd: list[str], name: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, input=input, capture_output=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise MediaError("tool_failed", f"{name} took longer than {TIMEOUT_S:.0f} s") from None
    except OSError as exc:
        raise MediaError("tool_missing", f"{name} did not run: {exc}") from None


def _normalised(path: Path, work: Path) -> Media:
    try:
        return audio_to_wav(path, work)
    except Refused as r:
        raise MediaError(r.reason.value, f"the audio made could not be normalised ({r.reason.value})") from None


def speak(text: str, lang: str, rate: int, work: Path) -> Media:
    """``text`` read aloud by espeak-ng, as the import would store it."""
    if not text.strip():
        raise MediaError("empty_text", "the source text is empty: nothing to read")
    exe = shutil.which(ESPEAK)
    if exe is None:
        raise MediaError("tool_missing", tool_problem("speech_from_text") or "espeak-ng is not installed")
    with tempfile.TemporaryDirectory(dir=work, prefix="speak-") as tmp:
        out = Path(tmp) / "speech.wav"
        # The text goes on stdin, so no text can be taken for an option.
        run = _run([exe, "-v", voice_for(text, lang), "-s", str(rate), "-w", str(out), "--stdin"], "espeak-ng",
                   input=text.encode("utf-8"))
        if run.returncode != 0 or not out.is_file() or out.stat().st_size <= 44:
            why = run.stderr.decode(errors="replace").strip()[:200] or f"exit status {run.returncode}"
            raise MediaError("tool_failed", f"espeak-ng failed: {why}")
        return _normalised(out, work)


def read_samples(data: bytes) -> np.ndarray:
    """A stored (16 kHz mono 16-bit) WAV's samples as floats in [-1, 1)."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise MediaError("wrong_source", "the source is not mono 16-bit WAV")
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError):
        raise MediaError("wrong_source", "the source is not a WAV file") from None
    return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0


def wav_bytes(samples: np.ndarray, rate: int = AUDIO_RATE) -> bytes:
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def vary_audio(data: bytes, recipe: Recipe, work: Path) -> Media:
    """The stored clip ``data`` changed as ``recipe`` says, normalised as an import is."""
    if shutil.which(FFMPEG) is None:
        raise MediaError("tool_missing", tool_problem("audio_speed") or "ffmpeg is not installed")
    samples = read_samples(data)
    with tempfile.TemporaryDirectory(dir=work, prefix="vary-") as tmp:
        src = Path(tmp) / "in.wav"
        if isinstance(recipe, AudioSpeed):
            src.write_bytes(data)
            out = Path(tmp) / "out.wav"
            run = _run([FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(src),
                        "-filter:a", f"atempo={recipe.factor!r}", "-c:a", "pcm_s16le", str(out)], "ffmpeg")
            if run.returncode != 0 or not out.is_file():
                why = run.stderr.decode(errors="replace").strip()[:200] or f"exit status {run.returncode}"
                raise MediaError("tool_failed", f"ffmpeg failed: {why}")
            return _normalised(out, work)
        try:
            if isinstance(recipe, AudioNoise):
                made = mix.add_noise(samples, recipe.snr_db, recipe.seed)
            elif isinstance(recipe, AudioReverb):
                made = mix.reverb(samples, AUDIO_RATE, recipe.rt60_s, recipe.wet, recipe.seed)
            else:
                raise MediaError("wrong_source", f"{recipe.kind} does not make audio")
        except ValueError as exc:
            raise MediaError("wrong_source", str(exc)) from None
        src.write_bytes(wav_bytes(mix.fit(made)))
        return _normalised(src, work)


def vary_image(data: bytes, recipe: Recipe, work: Path) -> Media:
    """The stored image ``data`` changed as ``recipe`` says, as PNG, cleaned as an import is."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            icc = im.info.get("icc_profile")
            made = _apply(im, recipe)
    except MediaError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError):
        raise MediaError("wrong_source", "the source is not an image Pillow can read") from None
    buf = io.BytesIO()
    made.save(buf, "PNG", **({"icc_profile": icc} if icc else {}))
    with tempfile.TemporaryDirectory(dir=work, prefix="vary-") as tmp:
        path = Path(tmp) / "out.png"
        path.write_bytes(buf.getvalue())
        try:
            return clean_image(path, Kind.png)
        except Refused as r:
            raise MediaError(r.reason.value, f"the image made could not be stored ({r.reason.value})") from None


def _apply(im: Image.Image, recipe: Recipe) -> Image.Image:
    if isinstance(recipe, ImageFlip):
        return ImageOps.mirror(im) if recipe.direction == "horizontal" else ImageOps.flip(im)
    if isinstance(recipe, ImageCrop):
        if not recipe.fits(*im.size):
            raise MediaError("crop_outside", f"the crop {recipe.left},{recipe.top} {recipe.width}x{recipe.height} "
                                             f"does not fit the {im.width}x{im.height} image")
        return im.crop((recipe.left, recipe.top, recipe.left + recipe.width, recipe.top + recipe.height))
    smooth = im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB") \
        if im.mode in ("P", "PA", "1") else im
    if isinstance(recipe, ImageScale):
        return smooth.resize(scaled_size(im.width, im.height, recipe.factor), Image.Resampling.LANCZOS)
    if isinstance(recipe, ImageBrightness):
        return ImageEnhance.Brightness(smooth).enhance(recipe.factor)
    raise MediaError("wrong_source", f"{recipe.kind} does not make an image")
