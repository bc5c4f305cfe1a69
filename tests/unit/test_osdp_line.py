"""The OSDP line scanner: valid frames pass, every stray byte is counted, chunking is irrelevant."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from access_control.osdp_line import SOM, FrameScanner, LineCounts, checksum, crc16, frame_is_valid


def frame(address: int, code: int, payload: bytes = b"", *, use_crc: bool = True, seq: int = 1,
          mark: bool = False) -> bytes:
    ctrl = (seq & 3) | (0x04 if use_crc else 0)
    length = 5 + 1 + len(payload) + (2 if use_crc else 1)
    body = bytes([SOM, address, length & 0xFF, length >> 8, ctrl, code]) + payload
    tail = crc16(body).to_bytes(2, "little") if use_crc else bytes([checksum(body)])
    return (b"\xff" if mark else b"") + body + tail


def test_crc16_matches_the_aug_ccitt_check_value():
    # CRC-16/AUG-CCITT's catalogue check value over "123456789".
    assert crc16(b"123456789") == 0xE5CC


def test_a_poll_and_its_ack_are_valid():
    poll = frame(0x01, 0x60)
    ack = frame(0x81, 0x40)
    assert frame_is_valid(poll) and frame_is_valid(ack)
    scanner = FrameScanner()
    assert scanner.feed(poll + ack) == LineCounts(frames=2)


def test_checksum_frames_and_mark_bytes_are_valid_too():
    data = frame(0x02, 0x60, use_crc=False) + frame(0x82, 0x40, mark=True)
    assert FrameScanner().feed(data) == LineCounts(frames=2)


def test_a_flipped_bit_makes_a_bad_frame_and_the_next_frame_still_parses():
    poll = bytearray(frame(0x01, 0x6A, b"\x01\x02\x03"))
    poll[6] ^= 0x10
    counts = FrameScanner().feed(bytes(poll) + frame(0x81, 0x40))
    assert counts.frames == 1
    assert counts.bad_frames >= 1
    assert counts.noise_bytes == len(poll)


def test_noise_between_frames_is_counted_exactly():
    noise = bytes([0x00, 0x11, 0x22, 0x33, 0xFE, 0xFF, 0x01])
    counts = FrameScanner().feed(frame(1, 0x60) + noise + frame(0x81, 0x40))
    assert counts == LineCounts(frames=2, noise_bytes=len(noise))


def test_a_som_inside_noise_with_an_absurd_length_is_noise():
    counts = FrameScanner().feed(bytes([SOM, 0x01, 0xFF, 0xFF, 0x04]) + frame(1, 0x60))
    assert counts == LineCounts(frames=1, noise_bytes=5)


def test_a_partial_frame_waits_for_the_rest():
    data = frame(1, 0x60, b"\x00" * 10)
    scanner = FrameScanner()
    assert scanner.feed(data[:7]) == LineCounts()
    assert scanner.feed(data[7:]) == LineCounts(frames=1)


def test_reset_drops_a_partial_frame_from_an_old_connection():
    data = frame(1, 0x60)
    scanner = FrameScanner()
    scanner.feed(data[:4])
    scanner.reset()
    assert scanner.feed(data) == LineCounts(frames=1)


frames_st = st.lists(
    st.builds(frame, st.integers(0, 0xFF), st.integers(0, 0xFF), st.binary(max_size=40),
              use_crc=st.booleans(), seq=st.integers(0, 3), mark=st.booleans()),
    min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(frames_st, st.data())
def test_valid_traffic_in_any_chunking_is_all_frames(frames, data):
    stream = b"".join(frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    scanner = FrameScanner()
    start = 0
    for cut in cuts + [len(stream)]:
        scanner.feed(stream[start:cut])
        start = cut
    assert scanner.counts == LineCounts(frames=len(frames))


@settings(max_examples=200, deadline=None)
@given(frames_st, st.binary(min_size=1, max_size=300).filter(lambda b: SOM not in b))
def test_noise_without_a_som_is_counted_byte_for_byte(frames, noise):
    # Noise is inserted between frames; it has no 0x53, so it cannot fake a frame start.
    middle = len(frames) // 2
    stream = b"".join(frames[:middle]) + noise + b"".join(frames[middle:])
    counts = FrameScanner().feed(stream)
    assert counts.frames == len(frames)
    # A trailing 0xFF right before a frame is taken as its mark byte.
    mark_eaten = 1 if noise.endswith(b"\xff") and middle < len(frames) and not frames[middle].startswith(b"\xff") else 0
    assert counts.noise_bytes == len(noise) - mark_eaten


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_survived_and_accounted_for(junk):
    scanner = FrameScanner()
    counts = scanner.feed(junk)
    assert counts.noise_bytes <= len(junk)
    assert counts.frames * 7 + counts.noise_bytes <= len(junk)
