"""Opus at a bitrate for listening, through PyAV's libopus (the encoder aiortc itself uses).

aiortc's own Opus encoder is fixed at 96 kb/s for speech (``application=voip``).
The room encodes for itself instead and hands aiortc finished packets, which
its sender sends as they are (a track may return :class:`av.Packet`): so the
bitrate, the mode and the frame length are ours, with no patching of aiortc.
See ``docs/decisions.md``.
"""

from __future__ import annotations

import fractions

import av
import numpy as np

from dsp.errors import MasterdeckError

RATE = 48000
"""Opus's clock in WebRTC (RFC 7587): RTP timestamps count 48 kHz samples."""
FRAME = 960
"""Samples per Opus frame: 20 ms."""
MIN_BITRATE_KBPS = 256
MAX_BITRATE_KBPS = 510
"""Opus's ceiling for stereo."""
TIME_BASE = fractions.Fraction(1, RATE)


class OpusEncoder:
    """Encode stereo float32 frames of 20 ms into Opus packets, constant bitrate.

    Constant bitrate (``vbr=off``), so what is sent is exactly what was asked
    for, quiet passages included; ``application=audio`` (music, full band).

    Parameters
    ----------
    bitrate_kbps : int
        256 to 510.
    """

    def __init__(self, bitrate_kbps: int = MIN_BITRATE_KBPS) -> None:
        if isinstance(bitrate_kbps, bool) or not isinstance(bitrate_kbps, int):
            raise TypeError("bitrate_kbps must be an integer")
        if not MIN_BITRATE_KBPS <= bitrate_kbps <= MAX_BITRATE_KBPS:
            raise ValueError(f"bitrate_kbps must be in range {MIN_BITRATE_KBPS}.."
                             f"{MAX_BITRATE_KBPS}, got {bitrate_kbps}")
        self.bitrate_kbps = bitrate_kbps
        try:
            codec = av.CodecContext.create("libopus", "w")
        except (av.FFmpegError, ValueError) as exc:
            raise MasterdeckError(f"PyAV has no libopus encoder: {exc}") from None
        codec.bit_rate = bitrate_kbps * 1000
        codec.format = "flt"
        codec.layout = "stereo"
        codec.sample_rate = RATE
        codec.time_base = TIME_BASE
        codec.options = {"application": "audio", "vbr": "off", "frame_duration": "20"}
        self.codec = codec

    def encode(self, block: np.ndarray, pts: int) -> list[av.Packet]:
        """Encode one 20 ms ``block`` (shape (960, 2), float32) that starts at sample ``pts``.

        Returns the packets ready (none at first: the encoder looks ahead
        6.5 ms); a packet's ``pts`` counts from the same origin, shifted back
        by that look-ahead, so that decoded sample ``pts + k`` is input sample
        ``pts + k``.
        """
        if block.shape != (FRAME, 2):
            raise ValueError(f"an Opus frame is {FRAME} stereo samples, got {block.shape}")
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(block, dtype=np.float32).reshape(1, -1), format="flt",
            layout="stereo")
        frame.sample_rate = RATE
        frame.pts = pts
        frame.time_base = TIME_BASE
        return list(self.codec.encode(frame))
