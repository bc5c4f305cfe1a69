"""Audio variations on samples (mono, float64 in [-1, 1]), with numpy and no I/O.

- ``add_noise``: white Gaussian noise scaled so that signal power / noise power is exactly
  ``snr_db`` (power = mean square over the whole clip), from a seeded generator. Silence has no
  power to measure against: it is refused (ValueError).
- ``impulse_response``: a room's impulse, exponentially decaying Gaussian noise with a 60 dB
  decay over ``rt60_s`` (amplitude envelope ``10 ** (-3 t / rt60)``), a unit direct path at
  t = 0, normalised to unit energy.
- ``reverb``: the clip convolved with that impulse, tail included, mixed ``(1 - wet) * dry +
  wet * reverberant`` (the dry clip zero-padded to the tail's length).
- ``fit``: scaled down, only if needed, so that no sample exceeds full scale (no clipping).
"""
from __future__ import annotations

import numpy as np


def power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0


def noise_for(signal: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    p_signal = power(signal)
    if p_signal <= 0:
        raise ValueError("the clip is silent: a signal-to-noise ratio has nothing to measure")
    noise = np.random.default_rng(seed).standard_normal(signal.shape[0])
    noise *= np.sqrt(p_signal / (10 ** (snr_db / 10)) / power(noise))
    return noise


def add_noise(signal: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    return signal + noise_for(signal, snr_db, seed)


def snr_db(signal: np.ndarray, noise: np.ndarray) -> float:
    return 10 * float(np.log10(power(signal) / power(noise)))


def impulse_response(rate: int, rt60_s: float, seed: int) -> np.ndarray:
    n = max(2, int(round(rt60_s * rate)))
    t = np.arange(n) / rate
    h = np.random.default_rng(seed).standard_normal(n) * 10 ** (-3 * t / rt60_s)
    h[0] = 1.0
    return h / np.sqrt(np.sum(np.square(h)))


def reverb(signal: np.ndarray, rate: int, rt60_s: float, wet: float, seed: int) -> np.ndarray:
    h = impulse_response(rate, rt60_s, seed)
    size = signal.shape[0] + h.shape[0] - 1
    n_fft = 1 << (size - 1).bit_length()
    wet_part = np.fft.irfft(np.fft.rfft(signal, n_fft) * np.fft.rfft(h, n_fft), n_fft)[:size]
    dry = np.zeros(size)
    dry[:signal.shape[0]] = signal
    return (1 - wet) * dry + wet * wet_part


def fit(x: np.ndarray, full_scale: float = 32767 / 32768) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return x * (full_scale / peak) if peak > full_scale else x
