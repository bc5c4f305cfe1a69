"""Line quality of an OSDP bus, judged from the bytes the panel receives.

libosdp discards what it cannot parse and says nothing about it, yet bytes that are not part of
a valid frame are what an officer needs to know about: a bad termination, a second master on
the RS-485 pair, someone clipping onto the line. ``FrameScanner`` walks the received stream the
way a receiver resynchronises (find SOM, read the length, check CRC-16 or checksum) and counts
valid frames, frames that failed their check and bytes that belonged to no frame.

Pure: feed it bytes, read the counters. Frame layout (OSDP v2.2, section 5.7): SOM 0x53,
address, length (LSB, MSB; whole packet from SOM to the check), control (bit 2: CRC-16 instead
of the one-byte checksum), payload, check. A 0xFF mark byte may precede SOM.
"""
from __future__ import annotations

from dataclasses import dataclass

SOM = 0x53
MARK = 0xFF
HEADER = 5  # SOM, address, length (2), control
MIN_FRAME = HEADER + 1 + 1  # header, reply/command code, one-byte checksum
MAX_FRAME = 1440  # the largest the specification's multi-part messages need
CTRL_CRC = 0x04
CTRL_RESERVED = 0x70  # zero in every frame; set means this 0x53 did not start one


def crc16(data: bytes | bytearray | memoryview, crc: int = 0x1D0F) -> int:
    """CRC-16/AUG-CCITT (poly 0x1021, init 0x1D0F, no reflection), as OSDP uses it."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def checksum(data: bytes | bytearray | memoryview) -> int:
    return (-sum(data)) & 0xFF


def frame_is_valid(frame: bytes | bytearray) -> bool:
    if len(frame) < MIN_FRAME or frame[0] != SOM or frame[4] & CTRL_RESERVED:
        return False
    if frame[4] & CTRL_CRC:
        return len(frame) >= MIN_FRAME + 1 and crc16(frame[:-2]) == frame[-2] | (frame[-1] << 8)
    return checksum(frame[:-1]) == frame[-1]


@dataclass(frozen=True)
class LineCounts:
    frames: int = 0  # valid frames
    bad_frames: int = 0  # a header that looked right but failed its CRC/checksum
    noise_bytes: int = 0  # bytes that belonged to no valid frame

    def __sub__(self, other: LineCounts) -> LineCounts:
        return LineCounts(self.frames - other.frames, self.bad_frames - other.bad_frames,
                          self.noise_bytes - other.noise_bytes)


class FrameScanner:
    """Counts valid frames and noise in a received OSDP byte stream, across arbitrary chunks."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.frames = self.bad_frames = self.noise_bytes = 0

    @property
    def counts(self) -> LineCounts:
        return LineCounts(self.frames, self.bad_frames, self.noise_bytes)

    def reset(self) -> None:
        """Forget a partial frame (the connection was replaced); keep the totals."""
        self._buf.clear()

    def feed(self, data: bytes | bytearray) -> LineCounts:
        self._buf += data
        buf = self._buf
        i = 0
        while i < len(buf):
            if buf[i] != SOM:
                # one mark byte right before SOM is part of the frame, not noise
                if not (buf[i] == MARK and i + 1 < len(buf) and buf[i + 1] == SOM):
                    if buf[i] == MARK and i + 1 == len(buf):
                        break  # might be a mark; wait for the next byte
                    self.noise_bytes += 1
                i += 1
                continue
            if len(buf) - i < HEADER:
                break
            length = buf[i + 2] | (buf[i + 3] << 8)
            if not MIN_FRAME <= length <= MAX_FRAME or buf[i + 4] & CTRL_RESERVED:
                self.noise_bytes += 1  # a 0x53 inside noise, not a frame start
                i += 1
                continue
            if len(buf) - i < length:
                break
            if frame_is_valid(buf[i:i + length]):
                self.frames += 1
                i += length
            else:
                # Resynchronise one byte on: a real frame may start inside what looked like one.
                self.bad_frames += 1
                self.noise_bytes += 1
                i += 1
        del buf[:i]
        return self.counts
