"""Audio that decodes to more than the cap (an audio bomb: little in, hours out) is refused as
too_large without its whole decoding being written; audio under the cap comes in."""
from __future__ import annotations

import subprocess

import pytest

from annotation.intake import Refusal, Refused
from controller.preprocess_media import audio_to_wav


def flac_of(tmp_path, seconds: int):
    path = tmp_path / f"tone{seconds}.flac"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={seconds}", "-ar", "16000", str(path)], check=True)
    return path


def test_audio_decoding_past_the_cap_is_too_large(tmp_path):
    src = flac_of(tmp_path, 20)  # 20 s: about 640 kB of WAV
    with pytest.raises(Refused) as info:
        audio_to_wav(src, tmp_path, max_wav_bytes=100_000)
    assert info.value.reason == Refusal.too_large
    assert audio_to_wav(src, tmp_path, max_wav_bytes=1_000_000).meta["duration_s"] == pytest.approx(20, abs=0.1)
