"""Reading and converting imported files, one at a time, with bounded memory: audio becomes
16 kHz mono 16-bit WAV through ffmpeg, images are re-encoded without their metadata (EXIF, GPS,
text chunks), text is read line by line and never holds more than one line in memory. What a
file is refused for is ``annotation.intake``'s decision; this module finds the facts."""
from __future__ import annotations

import codecs
import io
import subprocess
import tempfile
import warnings
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFile, ImageOps

from annotation.intake import Kind, Refusal, Refused

FFMPEG = "/usr/bin/ffmpeg"
AUDIO_RATE = 16_000
CHUNK = 64 * 1024
BOM = codecs.BOM_UTF8


@dataclass(frozen=True)
class Media:
    data: bytes
    media_type: str
    meta: dict


# A decoded WAV is at most this big (about 4.6 hours at 16 kHz mono): a small, highly compressed
# file that would decode to more (an audio bomb) is refused as too_large, never written out whole.
MAX_WAV_BYTES = 512 << 20


def audio_to_wav(src: Path, work_dir: Path, timeout_s: float = 300.0, max_wav_bytes: int = MAX_WAV_BYTES) -> Media:
    """The audio at ``src`` as 16 kHz mono 16-bit PCM WAV with no metadata, and its duration
    (from the WAV header); anything ffmpeg cannot decode, or that decodes to no sound at all,
    is corrupt_audio; audio that decodes to more than ``max_wav_bytes`` is too_large."""
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="audio-") as tmp:
        out = Path(tmp) / "out.wav"
        cmd = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-xerror", "-i", str(src),
               "-map", "0:a:0", "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
               "-ac", "1", "-ar", str(AUDIO_RATE), "-c:a", "pcm_s16le", "-fs", str(max_wav_bytes + 1),
               "-f", "wav", str(out)]
        try:
            run = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise Refused(Refusal.corrupt_audio) from None
        if run.returncode != 0 or not out.is_file():
            raise Refused(Refusal.corrupt_audio)
        if out.stat().st_size > max_wav_bytes:  # ffmpeg stopped at the cap: there was more
            raise Refused(Refusal.too_large)
        data = out.read_bytes()
    try:
        with wave.open(io.BytesIO(data)) as w:
            frames, rate, channels, width = w.getnframes(), w.getframerate(), w.getnchannels(), w.getsampwidth()
    except (wave.Error, EOFError):
        raise Refused(Refusal.corrupt_audio) from None
    if frames == 0 or rate != AUDIO_RATE or channels != 1 or width != 2:
        raise Refused(Refusal.corrupt_audio)
    return Media(data, "audio/wav", {"duration_s": round(frames / rate, 3), "sample_rate": rate,
                                     "channels": 1, "bits": 16})


_IMAGE_FORMAT = {Kind.jpeg: ("JPEG", "image/jpeg"), Kind.png: ("PNG", "image/png")}


def clean_image(src: Path, kind: Kind) -> Media:
    """The image re-encoded in its own format from its pixels alone: EXIF (GPS included), XMP,
    comments and text chunks are left behind, the EXIF orientation applied to the pixels first
    so the picture still stands the right way up; the colour profile is kept. A file cut short
    is truncated_image, one Pillow cannot read corrupt_image, one of absurd pixel count
    too_large."""
    fmt, media_type = _IMAGE_FORMAT[kind]
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a cut-off file must fail to load, not come in grey
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(src) as im:
                if im.format != fmt:
                    raise Refused(Refusal.corrupt_image)
                im.verify()
            with Image.open(src) as im:
                im.load()
                icc = im.info.get("icc_profile")
                upright = ImageOps.exif_transpose(im)
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(Refusal.too_large) from None
    except OSError as exc:
        truncated = "truncated" in str(exc).lower() or "image file is" in str(exc).lower()
        raise Refused(Refusal.truncated_image if truncated else Refusal.corrupt_image) from None
    except (SyntaxError, ValueError, EOFError):  # what Pillow's plugins raise on broken data
        raise Refused(Refusal.corrupt_image) from None
    # A fresh image from the pixels alone: nothing of the file's metadata can ride along.
    pixels = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    if upright.mode in ("P", "PA") and upright.getpalette() is not None:
        pixels.putpalette(upright.getpalette())
    transparency = upright.info.get("transparency") if fmt == "PNG" else None
    if fmt == "JPEG" and pixels.mode not in ("RGB", "L", "CMYK"):
        pixels = pixels.convert("RGB")
    buf = io.BytesIO()
    options: dict = {"icc_profile": icc} if icc else {}
    if transparency is not None:
        options["transparency"] = transparency
    if fmt == "JPEG":
        options.update(quality=95)
    pixels.save(buf, fmt, **options)
    return Media(buf.getvalue(), media_type, {"width": pixels.width, "height": pixels.height})


def text_lines(src: Path, max_line_bytes: int) -> Iterator[str]:
    """The file's lines, decoded as UTF-8 (a leading BOM dropped), line ends kept. Reads in
    chunks of at most ``CHUNK`` bytes and holds at most one line: a line longer than
    ``max_line_bytes`` is refused (line_too_long) as soon as that many bytes are seen without its
    end, whatever its full length. A byte sequence that is not UTF-8: bad_encoding."""
    pending = bytearray()
    n = 0
    first = True
    with open(src, "rb") as f:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            start = 0
            while True:
                nl = chunk.find(b"\n", start)
                if nl < 0:
                    pending += chunk[start:]
                    if len(pending) > max_line_bytes:
                        raise Refused(Refusal.line_too_long, n + 1)
                    break
                pending += chunk[start:nl + 1]
                start = nl + 1
                n += 1
                if len(pending) - 1 > max_line_bytes:
                    raise Refused(Refusal.line_too_long, n)
                yield _decode(pending, n, first)
                first = False
                pending = bytearray()
    if pending:
        yield _decode(pending, n + 1, first)


def _decode(raw: bytearray, n: int, first: bool) -> str:
    if first and raw.startswith(BOM):
        raw = raw[len(BOM):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(Refusal.bad_encoding, n) from None
