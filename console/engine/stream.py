"""The engine: the audio stream, the chain, the transport and the meter taps.

Contract with the audio thread (see :mod:`console.engine.callback`):

- no Python runs in it: PortAudio calls a numba cfunc (or, with
  ``python_callback=True``, a plain sounddevice callback that calls the same
  compiled block function, for diagnosis only);
- everything it touches is allocated here before the stream starts and kept
  alive by this object for the stream's whole life;
- one writer per array: the control side writes ``ctl`` and the chain's
  ``values`` (through the :class:`~console.control.desk.Desk`), the callback writes
  ``rt``, ``target`` (what the chain glides to: the desk's values or the
  lanes'), the stage states and the meters;
- everything is compiled and warmed before ``start`` returns.

A meter thread reads the taps at a steady rate, keeps the loudness histories,
computes the loudness-matching gains for bypass and reference, and publishes
a snapshot that the control server hands to subscribers.
"""

from __future__ import annotations

import gc
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import sounddevice as sd

from console.control.desk import Desk
from console.engine import callback as cb
from console.engine.timeline import Timeline, empty_index
from console.engine.tracks import Track, load_track, silence
from dsp import automation, gating, player_limiter, taps, translation
from dsp.chain import Chain
from dsp.errors import DeviceError, MasterdeckError
from dsp.meter import LoudnessMeter, read

log = logging.getLogger(__name__)

MAX_BLOCK = 8192
"""Largest block the callback processes at once (bigger ones are split)."""
METER_RATE_HZ = 30.0
SOURCES = {"master": cb.SOURCE_MASTER, "bypass": cb.SOURCE_BYPASS,
           "reference": cb.SOURCE_REFERENCE}
MATCH_WINDOW_S = 3.0
"""Loudness matching compares master and unprocessed over this recent window
(short-term length, so the match follows a knob within about three seconds)."""


class Engine:
    """Owns the stream and every array the audio callback touches.

    Parameters
    ----------
    sample_rate, block_size : int
        The stream's; 64-frame blocks at 48 kHz are supported.
    device : int or str, optional
        PortAudio output device (sounddevice's matching rules); default device if None.
    live_input : bool
        Open a duplex stream and offer the interface's input as a source.
    python_callback : bool
        Use a plain sounddevice Python callback instead of the cfunc (diagnosis).
    """

    def __init__(self, sample_rate: int = 48000, block_size: int = 256,
                 device: int | str | None = None, live_input: bool = False,
                 python_callback: bool = False) -> None:
        self.sample_rate = int(sample_rate)
        self.block_size = int(block_size)
        self.device = device
        self.live_input = live_input
        self.python_callback = python_callback
        self.chain = Chain(self.sample_rate)
        self.desk = Desk(self.chain.values)
        self.ctl = np.zeros(cb.CTL_SIZE)
        self.rt = np.zeros(cb.RT_SIZE)
        self.ctl[[cb.C_GAIN_MASTER, cb.C_GAIN_DRY, cb.C_GAIN_REF]] = 1.0
        self.rt[[cb.R_G_MASTER, cb.R_G_DRY, cb.R_G_REF, cb.R_W_MASTER, cb.R_REF_FADE]] = 1.0
        self.rt[cb.R_STEP] = 1.0 / (0.010 * self.sample_rate)  # 10 ms fades
        self.rt[cb.R_POLE] = 1.0 - math.exp(-1.0 / (0.020 * self.sample_rate))
        self.ctl[cb.C_LATENCY] = self.chain.latency
        self.ctl[cb.C_ALBUM_FOCUS] = -1.0
        self.rt[[cb.R_ALBUM_FOCUS, cb.R_MAIN_ROW, cb.R_MAIN_SERIAL, cb.R_SECOND_ROW,
                 cb.R_SECOND_SERIAL]] = -1.0
        self.work = np.zeros((MAX_BLOCK, 2))
        self.dry = np.zeros((MAX_BLOCK, 2))
        self.refbuf = np.zeros((MAX_BLOCK, 2))
        self.delay = np.zeros((max(self.chain.latency, 1), 2))
        self.meter_out = LoudnessMeter(self.sample_rate, 2, running=True)
        self.meter_dry = LoudnessMeter(self.sample_rate, 2, running=True)
        self.times = np.zeros(cb.TIME_RING)
        self.target = self.chain.values.copy()
        """What the chain plays: the desk's values, or the automation lanes' (callback writes)."""
        self.auto_ctl = automation.prepare_ctl()
        """Automation modes, trim references, bias and fades (control side writes)."""
        self.auto_st = automation.prepare_state()
        """The automation kernel's state and record ring (callback writes)."""
        self.posbuf = np.zeros(MAX_BLOCK)
        self.fresh = self.chain._pack.copy()
        """A chain state that never ran: an album song's chain starts as a copy of it."""
        self.second = Chain(self.sample_rate)
        """The album's second voice: the outgoing song's chain through a join."""
        self.target2 = self.second.values.copy()
        self.auto_st2 = automation.prepare_state()
        self.work2 = np.zeros((MAX_BLOCK, 2))
        self.posbuf2 = np.zeros(MAX_BLOCK)
        self.fades = np.zeros(MAX_BLOCK)
        self.albums: list[np.ndarray] = [empty_index(), empty_index()]
        self.timeline: Timeline | None = None
        """The album timeline in play (album mode), or None (one song at a time)."""
        self._timelines: list[Timeline | None] = [None, None]
        self.lanes: list[np.ndarray] = [automation.empty_lanes(), automation.empty_lanes()]
        self._keep_alive: list[np.ndarray] = []
        self.songs: list[np.ndarray] = [silence(), silence()]
        self.refs: list[np.ndarray] = [silence(), silence()]
        self.song: Track | None = None
        self.reference: Track | None = None
        self.match = True
        """Loudness-match bypass and reference to the master (never boosting)."""
        self.preview_gain_db = 0.0
        """The gain a streaming platform would play the master at (platform preview): on the
        monitor path only, never rendered; set by the session (:mod:`console.session.preview`)."""
        self.translation = translation.prepare(self.sample_rate)
        """The translation check's state (:mod:`dsp.translation`; callback writes)."""
        self.monitor = np.zeros((MAX_BLOCK, 2))
        """The monitor mix, where the translation check plays it (callback writes)."""
        self.player = player_limiter.prepare(self.sample_rate)
        """A streaming player's limiter on the previewed master (callback writes)."""
        self.room_ring = np.zeros((cb.ROOM_RING_FRAMES, 2), dtype=np.float32)
        """What the callback sent to the device, the last 2.7 s of it, for the listening
        room (:mod:`console.room.ring` reads it; callback writes)."""
        self.room_index = np.zeros(cb.ROOM_INDEX_HEAD + cb.ROOM_RECORDS * cb.ROOM_RECORD)
        """The ring's frame counter and a record of the transport per block (callback
        writes)."""
        self.table = np.zeros((cb.TABLE_ROWS, 2), dtype=np.int64)
        self._fill_table()
        self._lock = threading.RLock()
        self._stream: Any = None
        self._callback: Any = None
        self._meter_thread: threading.Thread | None = None
        self._running = threading.Event()
        self._snapshot: dict[str, Any] = {}
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self.start_times: dict[str, float] = {}
        self._register_actions()

    # set-up ----------------------------------------------------------------
    def _fill_table(self) -> None:
        rows = {
            cb.T_CTL: self.ctl, cb.T_RT: self.rt, cb.T_VALUES: self.chain.values,
            cb.T_CURRENT: self.chain.current, cb.T_IO: self.chain.io, cb.T_EQ: self.chain.eq,
            cb.T_COMP: self.chain.comp, cb.T_EXCITER: self.chain.exciter,
            cb.T_STEREO: self.chain.stereo, cb.T_LIMITER: self.chain.limiter,
            cb.T_TAPS: self.chain.taps, cb.T_WORK: self.work, cb.T_DRY: self.dry,
            cb.T_REFBUF: self.refbuf, cb.T_DELAY: self.delay,
            cb.T_METER_OUT: self.meter_out.state, cb.T_PEAK_OUT: self.meter_out.true_peak_state,
            cb.T_METER_DRY: self.meter_dry.state, cb.T_TIMES: self.times,
            cb.T_SONG0: self.songs[0], cb.T_SONG1: self.songs[1],
            cb.T_REF0: self.refs[0], cb.T_REF1: self.refs[1],
            cb.T_TARGET: self.target, cb.T_AUTO_CTL: self.auto_ctl, cb.T_AUTO_ST: self.auto_st,
            cb.T_POSBUF: self.posbuf, cb.T_LANES0: self.lanes[0], cb.T_LANES1: self.lanes[1],
            cb.T_ALBUM0: self.albums[0], cb.T_ALBUM1: self.albums[1],
            cb.T_PACK: self.chain._pack, cb.T_FRESH: self.fresh, cb.T_PACK2: self.second._pack,
            cb.T_CURRENT2: self.second.current, cb.T_TARGET2: self.target2,
            cb.T_AUTO_ST2: self.auto_st2, cb.T_WORK2: self.work2, cb.T_POSBUF2: self.posbuf2,
            cb.T_FADES: self.fades, cb.T_TRANSLATION: self.translation, cb.T_MONITOR: self.monitor,
            cb.T_PLAYER: self.player, cb.T_ROOM_RING: self.room_ring,
            cb.T_ROOM_INDEX: self.room_index,
        }
        for row, array in rows.items():
            self._set_row(row, array)

    def _set_row(self, row: int, array: np.ndarray) -> None:
        if not array.flags.c_contiguous:
            raise ValueError("callback arrays must be C-contiguous")
        self.table[row, 0] = array.ctypes.data
        self.table[row, 1] = array.shape[0]

    def compile(self) -> float:
        """Compile and warm the callback; return the seconds it took."""
        started = time.perf_counter()
        channels_in = 2 if self.live_input else 0
        out = np.zeros(self.block_size * 2, dtype=np.float32)
        inp = np.zeros(max(self.block_size * channels_in, 1), dtype=np.float32)
        saved = self.rt.copy()
        # Warm the very route the stream will call. The block function sets
        # FTZ/DAZ for its thread (MXCSR is per thread): warm it on a thread of
        # its own so the caller's floating point stays IEEE.
        if self.python_callback:
            self._callback = cb.run_block
            warm = threading.Thread(target=cb.run_block, name="warm-up",
                                    args=(self.table, inp, out, self.block_size, channels_in, 2, 0))
        else:
            self._callback = cb.build_callback(self.live_input)
            warm = threading.Thread(target=self._callback.ctypes, name="warm-up",
                                    args=(inp.ctypes.data, out.ctypes.data, self.block_size, None,
                                          0, self.table.ctypes.data))
        warm.start()
        warm.join()
        self.rt[:] = saved
        self.start_times["compile_s"] = time.perf_counter() - started
        return self.start_times["compile_s"]

    def start(self) -> None:
        """Compile, open the device and start the stream and the meter thread."""
        if self._stream is not None:
            return
        if self._callback is None:
            self.compile()
        kind = "duplex" if self.live_input else "output"
        try:
            if self.python_callback:
                self._stream = self._open_python_stream(kind)
            else:
                self._stream = sd._StreamBase(
                    kind, samplerate=self.sample_rate, blocksize=self.block_size,
                    device=self.device, channels=2, dtype="float32",
                    callback=self._callback.address,
                    userdata=sd._ffi.cast("void*", self.table.ctypes.data),
                )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._stream = None
            raise DeviceError(f"cannot open audio device {self.device or '(default)'}: "
                              f"{exc}") from None
        gc.freeze()
        self._running.set()
        self._meter_thread = threading.Thread(target=self._meter_loop, name="meters",
                                              daemon=True)
        self._meter_thread.start()
        log.info("stream started: %s", self.stream_info())

    def _open_python_stream(self, kind: str) -> Any:
        channels_in = 2 if self.live_input else 0
        empty = np.zeros(1, dtype=np.float32)
        table = self.table

        def callback(*args: Any) -> None:
            if kind == "duplex":
                indata, outdata, frames, _time, status = args
                inp = indata.reshape(-1)
            else:
                outdata, frames, _time, status = args
                inp = empty
            cb.run_block(table, inp, outdata.reshape(-1), frames, channels_in, 2,
                         int(bool(status.output_underflow or status.input_overflow)))

        stream_class = sd.Stream if kind == "duplex" else sd.OutputStream
        return stream_class(samplerate=self.sample_rate, blocksize=self.block_size,
                            device=self.device, channels=2, dtype="float32",
                            callback=callback)

    def stop(self, fade: bool = True) -> None:
        """Fade the output out, stop the stream and the meter thread."""
        if self._stream is None:
            return
        if fade:
            self.ctl[cb.C_PLAY] = 0.0
            self._wait(lambda: self.rt[cb.R_PLAYING] < 0.5, 0.5)
        self._running.clear()
        if self._meter_thread:
            self._meter_thread.join(2.0)
        try:
            self._stream.stop()
            self._stream.close()
        finally:
            self._stream = None
            gc.unfreeze()
        log.info("stream stopped")

    @property
    def running(self) -> bool:
        """Whether the stream is open and running."""
        return self._stream is not None and bool(self._stream.active)

    def stream_info(self) -> dict[str, Any]:
        """Device, rate, block and latency of the running stream."""
        info: dict[str, Any] = {"sample_rate": self.sample_rate, "block_size": self.block_size,
                                "callback": "python" if self.python_callback else "cfunc",
                                "chain_latency_samples": self.chain.latency}
        if self._stream is not None:
            device = self._stream.device
            index = device[1] if isinstance(device, tuple | list) else device
            info["device"] = sd.query_devices(index)["name"]
            latency = self._stream.latency
            info["output_latency_s"] = latency[1] if isinstance(latency, tuple | list) else latency
            info["cpu_load"] = round(float(self._stream.cpu_load), 4)
        return info

    # transport -------------------------------------------------------------
    def _register_actions(self) -> None:
        desk = self.desk
        desk.register_action("play", lambda author="": self.play(author))
        desk.register_action("stop", lambda author="": self.halt(author))
        desk.register_action("toggle_play", lambda author="": self.toggle_play(author))
        desk.register_action("locate", lambda seconds=0.0, author="": self.locate(seconds))
        desk.register_action("loop", lambda start=None, end=None, on=None, author="":
                             self.set_loop(start, end, on, author))
        desk.register_action("bypass", lambda on=None, author="": self.set_source(
            "bypass" if (on if on is not None else self.source != "bypass") else "master",
            author))
        desk.register_action("reference", lambda on=None, author="": self.set_source(
            "reference" if (on if on is not None else self.source != "reference")
            else "master", author))
        desk.register_action("translate", lambda check="off", on=None, author="":
                             self.set_translation(
                                 check if (on if on is not None else self.translation_name != check)
                                 else "off", author))

    def play(self, author: str = "") -> None:
        """Start playback from the current position (fades in over 10 ms)."""
        if self.ended:
            self.locate(0.0)
        self.ctl[cb.C_PLAY] = 1.0
        self.desk.set_state("playing", True, author)

    def halt(self, author: str = "") -> None:
        """Stop playback (fades out over 10 ms, the position is kept)."""
        self.ctl[cb.C_PLAY] = 0.0
        self.desk.set_state("playing", False, author)

    def toggle_play(self, author: str = "") -> None:
        """Play if stopped, stop if playing."""
        if self.ctl[cb.C_PLAY] > 0.5:
            self.halt(author)
        else:
            self.play(author)

    @property
    def ended(self) -> bool:
        """Whether playback ran off the end of the song (and stopped there)."""
        return bool(self.rt[cb.R_ENDED] > 0.5)

    def locate(self, seconds: float) -> None:
        """Jump to ``seconds`` into the song (album mode: the album); fades out, jumps, fades in."""
        if self.timeline is not None:
            frames = self.timeline.frames
        else:
            frames = self.song.frames if self.song else 0
        if not math.isfinite(seconds) or seconds < 0:
            raise MasterdeckError(f"locate: {seconds!r} is not a position in seconds")
        self.ctl[cb.C_LOCATE_TO] = min(round(seconds * self.sample_rate), frames)
        self.ctl[cb.C_LOCATE_SEQ] += 1.0
        if self._stream is None:  # nothing plays: apply at once
            self.rt[cb.R_POSITION] = self.ctl[cb.C_LOCATE_TO]
            self.rt[cb.R_LOCATE_DONE] = self.ctl[cb.C_LOCATE_SEQ]
            self.rt[cb.R_ENDED] = 0.0

    def set_loop(self, start: float | None = None, end: float | None = None,
                 on: bool | None = None, author: str = "") -> None:
        """Set the loop region in seconds and/or switch looping on or off.

        Checked as a whole before anything changes: a refused loop leaves the
        previous one in place.
        """
        rate = self.sample_rate
        new_start = self.ctl[cb.C_LOOP_START] if start is None else float(start) * rate
        new_end = self.ctl[cb.C_LOOP_END] if end is None else float(end) * rate
        new_on = bool(self.ctl[cb.C_LOOP]) if on is None else bool(on)
        if not (math.isfinite(new_start) and math.isfinite(new_end)) or new_start < 0:
            raise MasterdeckError("loop: start and end must be positions in seconds")
        if new_on and new_end <= new_start:
            raise MasterdeckError("loop: the end must come after the start")
        self.ctl[cb.C_LOOP_START] = round(new_start)
        self.ctl[cb.C_LOOP_END] = round(new_end)
        self.ctl[cb.C_LOOP] = 1.0 if new_on else 0.0
        self.desk.set_state("loop", self.loop_info(), author)

    def loop_info(self) -> dict[str, Any]:
        """The loop region in seconds and whether looping is on."""
        return {"on": bool(self.ctl[cb.C_LOOP]),
                "start_s": self.ctl[cb.C_LOOP_START] / self.sample_rate,
                "end_s": self.ctl[cb.C_LOOP_END] / self.sample_rate}

    @property
    def source(self) -> str:
        """What is heard: master, bypass or reference."""
        return next(k for k, v in SOURCES.items() if v == int(self.ctl[cb.C_SOURCE]))

    def set_source(self, name: str, author: str = "") -> None:
        """Listen to ``master``, ``bypass`` (unprocessed) or ``reference``; crossfades."""
        if name not in SOURCES:
            raise MasterdeckError(f"source {name!r}: use one of {', '.join(SOURCES)}")
        if name == "reference" and self.reference is None:
            raise MasterdeckError("no reference track is loaded")
        self.ctl[cb.C_SOURCE] = SOURCES[name]
        self.desk.set_state("source", name, author)
        self.desk.set_state("bypass", name == "bypass", author)
        self.desk.set_state("reference", name == "reference", author)

    @property
    def translation_name(self) -> str:
        """The translation check asked for (``off``, ``mono``, ``phone`` ...)."""
        return translation.NAMES[int(self.ctl[cb.C_TRANSLATION])]

    def set_translation(self, name: str, author: str = "") -> None:
        """Hear the monitor through translation check ``name`` (or ``off``); crossfades.

        Monitor only: what is rendered never goes through it.
        """
        if name not in translation.NAMES:
            raise MasterdeckError(f"translation check {name!r}: use one of "
                                  f"{', '.join(translation.NAMES)}")
        self.ctl[cb.C_TRANSLATION] = translation.index(name)
        self.desk.set_state("translation", name, author)

    def set_player_limiter(self, on: bool) -> None:
        """The platform preview plays the master through the player's limiter (Spotify loud)."""
        self.ctl[cb.C_PLAYER_LIMIT] = 1.0 if on else 0.0

    def set_match(self, on: bool, author: str = "") -> None:
        """Switch loudness matching of master, bypass and reference on or off."""
        self.match = bool(on)
        self.desk.set_state("match", self.match, author)

    def set_reference_follow(self, follow: bool) -> None:
        """Play the reference at the song's position (True) or from its own (False)."""
        self.ctl[cb.C_REF_FOLLOW] = 1.0 if follow else 0.0

    @property
    def position_s(self) -> float:
        """Playback position in the song, seconds."""
        return float(self.rt[cb.R_POSITION]) / self.sample_rate

    # songs -------------------------------------------------------------------
    def load_song(self, path: str, title: str | None = None,
                  while_silent: Callable[[Track], None] | None = None) -> Track:
        """Decode a song and make it current; playback resumes if it was playing.

        ``while_silent(track)`` runs after the old song has faded out and
        before the new one plays (a session sets the song's parameters and
        lanes there, so nothing of the old song is heard with the new settings).
        """
        if self.timeline is not None:
            raise MasterdeckError("album mode plays the album: leave it ('masterdeck mode "
                                  "song') to load a file")
        track = load_track(path, self.sample_rate, title)
        self._swap(self.songs, cb.T_SONG0, cb.C_SONG_SLOT, cb.R_SONG_SLOT, track.audio,
                   (lambda: while_silent(track)) if while_silent else None)
        self.song = track
        self.reset_meters()
        self.desk.set_state("song", track.describe())
        return track

    def load_reference(self, path: str, title: str | None = None) -> Track:
        """Decode a reference track (the client's song) for level-matched comparison."""
        track = load_track(path, self.sample_rate, title)
        self._swap(self.refs, cb.T_REF0, cb.C_REF_SLOT, cb.R_REF_SLOT, track.audio)
        self.reference = track
        self.desk.set_state("reference_track", track.describe())
        return track

    def _swap(self, slots: list[np.ndarray], row0: int, ctl_slot: int, rt_slot: int,
              audio: np.ndarray, while_silent: Callable[[], None] | None = None) -> None:
        with self._lock:
            was_playing = self.ctl[cb.C_PLAY] > 0.5 and row0 == cb.T_SONG0
            if was_playing:
                self.ctl[cb.C_PLAY] = 0.0
                self._wait(lambda: self.rt[cb.R_PLAYING] < 0.5, 0.5)
            hold_ref = row0 == cb.T_REF0 and self._stream is not None
            if hold_ref:  # it may be heard: fade it out (10 ms) before its buffer changes
                self.ctl[cb.C_REF_HOLD] = 1.0
                self._wait(lambda: self.rt[cb.R_REF_FADE] <= 0.0, 0.5)
            if while_silent is not None:
                while_silent()
            spare = 1 - int(self.ctl[ctl_slot])
            slots[spare] = audio
            self._set_row(row0 + spare, audio)
            self.ctl[ctl_slot] = spare
            if self._stream is None:
                self.rt[rt_slot] = spare
                self.rt[cb.R_POSITION if row0 == cb.T_SONG0 else cb.R_REF_POSITION] = 0.0
                self.rt[cb.R_ENDED] = 0.0
            elif not self._wait(lambda: int(self.rt[rt_slot]) == spare, 1.0):
                log.warning("the callback did not pick up the new track in time")
            slots[1 - spare] = silence()  # the old buffer is no longer read
            self._set_row(row0 + 1 - spare, slots[1 - spare])
            if was_playing:
                self.ctl[cb.C_PLAY] = 1.0
            if hold_ref:
                self.ctl[cb.C_REF_HOLD] = 0.0

    def set_lanes(self, lanes: np.ndarray) -> None:
        """Hand the callback new automation lanes (from ``dsp.automation.pack_lanes``).

        Written to the spare slot, flipped, and the old array released only
        once the callback has acknowledged the flip (as songs are swapped).
        """
        lanes = np.ascontiguousarray(lanes, dtype=np.float64)
        with self._lock:
            spare = 1 - int(self.ctl[cb.C_AUTO_SLOT])
            self.lanes[spare] = lanes
            self._set_row(cb.T_LANES0 + spare, lanes)
            self.ctl[cb.C_AUTO_SLOT] = spare
            if self._stream is None:
                self.rt[cb.R_AUTO_SLOT] = spare
                self.auto_st[automation.S_FORCE] = 1.0
            elif not self._wait(lambda: int(self.rt[cb.R_AUTO_SLOT]) == spare, 1.0):
                log.warning("the callback did not pick up the new automation in time")
                self._keep_alive.append(self.lanes[1 - spare])  # it may still read it
            old = automation.empty_lanes()
            self.lanes[1 - spare] = old
            self._set_row(cb.T_LANES0 + 1 - spare, old)

    # the album -----------------------------------------------------------------
    def play_album(self, timeline: Timeline, at_s: float = 0.0) -> None:
        """Play ``timeline`` (album mode) from ``at_s`` seconds into the album.

        The output fades out, the album index swaps in, the position moves
        and playback resumes if it was on: every song's chain starts afresh
        where it is joined. Also for a new layout of the album (order, gaps,
        crossfades) while it plays.
        """
        with self._lock:
            was_playing = self._silence()
            self._swap_album(timeline)
            self.ctl[cb.C_ALBUM] = 1.0
            self.locate(at_s)
            if self._stream is None:
                self.rt[cb.R_ENDED] = 0.0
            elif not self._wait(lambda: self.rt[cb.R_ALBUM] > 0.5
                                and self.rt[cb.R_LOCATE_DONE] == self.ctl[cb.C_LOCATE_SEQ], 1.0):
                log.warning("the callback did not pick up the album in time")
            if was_playing:
                self.ctl[cb.C_PLAY] = 1.0
        self.reset_meters()
        self.desk.set_state("album_mode", True)

    def update_album(self, timeline: Timeline) -> None:
        """Swap in ``timeline`` while it plays: the same songs at the same places (new lanes).

        Voices keep their songs (their serials are unchanged), so nothing is heard.
        """
        with self._lock:
            self._swap_album(timeline)

    def leave_album(self) -> None:
        """Back to one song at a time; the output fades out and stays stopped."""
        with self._lock:
            self._silence()
            self.ctl[cb.C_ALBUM] = 0.0
            self.ctl[cb.C_ALBUM_FOCUS] = -1.0
            if self._stream is not None:
                self._wait(lambda: self.rt[cb.R_ALBUM] < 0.5, 1.0)
            self._swap_album(None)
        self.desk.set_state("album_mode", False)

    def set_album_focus(self, row: int) -> None:
        """The album song the desk, the automation runner and the lanes now belong to (-1: none).

        Every other song plays from its own arrays in the timeline. Waits until
        the callback has taken it, so the desk can be changed after a -1.
        """
        self.ctl[cb.C_ALBUM_FOCUS] = float(row)
        if self._stream is None:
            self.rt[cb.R_ALBUM_FOCUS] = float(row)
        elif not self._wait(lambda: int(self.rt[cb.R_ALBUM_FOCUS]) == row, 1.0):
            log.warning("the callback did not take the album focus in time")

    @property
    def album_row(self) -> int:
        """The timeline row whose chain started last (-1: none, or not in album mode)."""
        return int(self.rt[cb.R_MAIN_ROW]) if self.timeline is not None else -1

    def _silence(self) -> bool:
        """Fade the output out and wait for it; return whether it was playing."""
        was_playing = self.ctl[cb.C_PLAY] > 0.5
        if was_playing:
            self.ctl[cb.C_PLAY] = 0.0
            if self._stream is not None:
                self._wait(lambda: self.rt[cb.R_PLAYING] < 0.5, 0.5)
        return was_playing

    def _swap_album(self, timeline: Timeline | None) -> None:
        index = timeline.index if timeline is not None else empty_index()
        spare = 1 - int(self.ctl[cb.C_ALBUM_SLOT])
        self.albums[spare] = index
        self._timelines[spare] = timeline
        self._set_row(cb.T_ALBUM0 + spare, index)
        self.ctl[cb.C_ALBUM_SLOT] = spare
        if self._stream is None:
            self.rt[cb.R_ALBUM_SLOT] = spare
        elif not self._wait(lambda: int(self.rt[cb.R_ALBUM_SLOT]) == spare, 1.0):
            log.warning("the callback did not pick up the album index in time")
            self._keep_alive.append(self.albums[1 - spare])
        self.albums[1 - spare] = empty_index()
        self._timelines[1 - spare] = None
        self._set_row(cb.T_ALBUM0 + 1 - spare, self.albums[1 - spare])
        self.timeline = timeline

    @property
    def position(self) -> int:
        """Playback position in the song, samples."""
        return int(self.rt[cb.R_POSITION])

    def reset_meters(self) -> None:
        """Start new loudness measurements (a new song, or on request)."""
        self.ctl[cb.C_METER_RESET_SEQ] += 1.0
        if self._stream is None:
            self.meter_out.reset()
            self.meter_dry.reset()
            self.rt[cb.R_METER_RESET_DONE] = self.ctl[cb.C_METER_RESET_SEQ]
        else:
            self._wait(lambda: self.rt[cb.R_METER_RESET_DONE] == self.ctl[cb.C_METER_RESET_SEQ],
                       1.0)
            self.meter_out.history.clear()
            self.meter_dry.history.clear()

    # meters --------------------------------------------------------------------
    def on_meters(self, listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``listener(snapshot)`` from the meter thread at the meter rate."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def meters(self) -> dict[str, Any]:
        """The latest meter snapshot."""
        return dict(self._snapshot)

    def update_meters(self) -> dict[str, Any]:
        """Read the taps and meter states once; refresh the matching gains."""
        master = read(self.meter_out.state, self.meter_out.true_peak_state,
                      self.meter_out.history)
        self.meter_dry.history.update()
        tap = self.chain.taps.copy()
        snapshot = {
            "time": time.time(),
            "position_s": round(self.position_s, 3),
            "playing": bool(self.rt[cb.R_PLAYING] > 0.5),
            "source": self.source,
            **{k: _round(v) for k, v in master.as_dict().items()
               if k not in ("sample_rate", "channels")},
            "comp_gr_db": round(float(tap[taps.COMP_GR_DB]), 2),
            "limiter_gr_db": round(float(tap[taps.LIMITER_GR_DB]), 2),
            "exciter_added_db": round(float(tap[taps.EXCITER_ADDED_DB]), 2),
            "xruns": int(self.rt[cb.R_XRUNS]),
            "callbacks": int(self.rt[cb.R_CALLBACKS]),
            "guard_trips": int(tap[taps.GUARD_TRIPS]),
            "translation": self.translation_name,
            "translation_gain_db": round(
                translation.compensation_db(self.translation, self.translation_name), 2),
            **self._match_gains(),
        }
        if self._stream is not None:
            snapshot["cpu_load"] = round(float(self._stream.cpu_load), 4)
        self._snapshot = snapshot
        return snapshot

    def _recent_lufs(self, meter: LoudnessMeter) -> float | None:
        energy = meter.history.data[gating.ENERGY]
        chunks = int(MATCH_WINDOW_S * 10)
        return gating.integrated_lufs(energy[-chunks:], meter.history.hop)

    def _match_gains(self) -> dict[str, Any]:
        master = self._recent_lufs(self.meter_out)
        dry = self._recent_lufs(self.meter_dry)
        ref = self.reference.integrated_lufs if self.reference else None
        gains = {"master": 0.0, "dry": 0.0, "ref": 0.0}
        if self.match and master is not None:
            levels = {"master": master, "dry": dry, "ref": ref}
            known = [v for v in levels.values() if v is not None]
            floor = min(known)
            for key, level in levels.items():
                gains[key] = 0.0 if level is None else min(0.0, floor - level)
        gains["master"] += self.preview_gain_db  # the callback glides to it: click-free
        self.ctl[cb.C_GAIN_MASTER] = 10 ** (gains["master"] / 20)
        self.ctl[cb.C_GAIN_DRY] = 10 ** (gains["dry"] / 20)
        self.ctl[cb.C_GAIN_REF] = 10 ** (gains["ref"] / 20)
        return {"match": self.match, "master_lufs_recent": _round(master),
                "unprocessed_lufs_recent": _round(dry),
                "match_gain_db": {k: round(v, 2) for k, v in gains.items()}}

    def callback_load(self) -> dict[str, float]:
        """Callback duration percentiles (ms) and load (fraction of a block's time)."""
        count = min(int(self.rt[cb.R_TIME_INDEX]), cb.TIME_RING)
        if count == 0:
            return {}
        ms = np.sort(self.times[:count]) / 1e6
        period_ms = 1000.0 * self.block_size / self.sample_rate
        p50, p99 = float(np.percentile(ms, 50)), float(np.percentile(ms, 99))
        return {"p50_ms": round(p50, 4), "p99_ms": round(p99, 4), "max_ms": round(ms[-1], 4),
                "p50_load": round(p50 / period_ms, 4), "p99_load": round(p99 / period_ms, 4)}

    def _meter_loop(self) -> None:
        period = 1.0 / METER_RATE_HZ
        while self._running.is_set():
            started = time.monotonic()
            try:
                snapshot = self.update_meters()
                for listener in list(self._listeners):
                    listener(snapshot)
            except Exception:  # a broken listener must not stop the meters
                log.exception("meter update failed")
            time.sleep(max(0.0, period - (time.monotonic() - started)))

    def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True


def _round(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value
