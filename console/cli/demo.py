"""``masterdeck demo``: hear the console at once, on a demo album it makes itself.

The demo synthesises a short album (a ballad, a rock song, an electronic
track) and a loud client reference, starts the daemon with them and plays the
album through the chain, showing the meters. With no sound card, it starts its
own JACK server with the dummy driver, so everything still runs (silently).
Other clients (``masterdeck status``, ``set``, ``bypass``) can talk to it
while it plays. Ctrl-C (or SIGTERM) stops it, and the JACK server it started.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from typing import TYPE_CHECKING

from console import config as configuration
from console import logs
from console.cli.serve import add_audio_arguments, build_config

if TYPE_CHECKING:
    from console.daemon import Daemon

DEMO_SETTINGS = {
    "eq.band1.type": 3.0, "eq.band1.freq_hz": 28.0,
    "eq.band2.gain_db": -1.5, "eq.band2.freq_hz": 280.0,
    "eq.band5.gain_db": 1.5, "eq.band5.freq_hz": 11000.0,
    "comp.bypass": 0.0, "comp.threshold_db": -22.0, "comp.ratio": 2.0, "comp.attack_ms": 20.0,
    "comp.release_ms": 200.0, "comp.sc_hpf_hz": 90.0,
    "stereo.bass_mono": 1.0, "stereo.bass_mono_hz": 110.0,
    "limiter.drive_db": 4.0, "limiter.ceiling_dbtp": -1.0,
}
"""A gentle master: rumble filter, a little glue, bass to the centre, 4 dB into the limiter."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser("demo", help="play the built-in demo album through the console",
                                   description=__doc__)
    add_audio_arguments(parser)
    parser.add_argument("--seconds", type=float, default=0.0,
                        help="stop after this long (default: until Ctrl-C)")
    parser.add_argument("--folder", help="where to write the demo album")
    parser.add_argument("--jack", choices=("auto", "always", "never"), default="auto",
                        help="start a dummy JACK server: when no output device exists (auto)")
    parser.set_defaults(run=run)


def _has_output_device() -> bool:
    import sounddevice as sd

    try:
        return any(d["max_output_channels"] > 0 for d in sd.query_devices())
    except sd.PortAudioError:
        return False


def run(args: argparse.Namespace) -> int:
    """Make the album, start the daemon (and a JACK server if needed), play."""
    from console.daemon import Daemon
    from console.devtools.demo_album import SONGS, make_album
    from console.devtools.jackd import dummy_jack

    logs.setup(args.verbose)
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: fade, stop the JACK server
    folder = args.folder or str(configuration.data_home() / "demo")
    paths = make_album(folder)
    songs = [(str(p), s.title) for p, s in zip(paths, SONGS, strict=True) if not s.reference]
    reference = next((str(p), s.title) for p, s in zip(paths, SONGS, strict=True)
                     if s.reference)
    need_jack = args.jack == "always" or (args.jack == "auto" and not _has_output_device())
    try:
        with contextlib.ExitStack() as stack:
            if need_jack:
                server = stack.enter_context(dummy_jack(args.sample_rate or 48000,
                                                        args.block_size or 256))
                print(f"no sound card: playing into a dummy JACK server ({server.name})",
                      file=sys.stderr)
            daemon = Daemon(build_config(args))
            stack.callback(daemon.shutdown)  # also after an interrupt while starting
            daemon.start()
            daemon.engine.load_song(*songs[0])
            daemon.engine.load_reference(*reference)
            daemon.desk.set_many(DEMO_SETTINGS, source="demo")
            return _play_album(daemon, songs, args.seconds)
    except KeyboardInterrupt:  # before the album started playing: still a clean stop
        print()
        return 0


def _interrupt(*_: object) -> None:
    """SIGTERM: leave the way Ctrl-C does, so the daemon fades out and our JACK server stops."""
    raise KeyboardInterrupt


def _play_album(daemon: Daemon, songs: list, seconds: float) -> int:
    engine = daemon.engine
    began = time.monotonic()
    index = 0
    engine.play()
    tty = sys.stdout.isatty()
    try:
        while seconds <= 0 or time.monotonic() - began < seconds:
            time.sleep(0.1)
            if engine.ended:
                index = (index + 1) % len(songs)
                engine.load_song(*songs[index])
                engine.play()
            line = _meter_line(engine)
            if tty:
                sys.stdout.write("\r" + line[:120].ljust(120))
                sys.stdout.flush()
        if tty:
            sys.stdout.write("\n")
        print(_meter_line(engine))
    except KeyboardInterrupt:
        print()
    return 0


def _meter_line(engine) -> str:
    m = engine.meters() or {}

    def f(key: str) -> str:
        value = m.get(key)
        return "  --  " if value is None else f"{value:6.1f}"

    title = engine.song.title if engine.song else "(no song)"
    return (f"{title[:22]:<22} {engine.position_s:6.1f}s  M{f('momentary_lufs')} "
            f"S{f('short_term_lufs')} I{f('integrated_lufs')} LUFS  TP{f('true_peak_dbtp')} dBTP"
            f"  GR comp {m.get('comp_gr_db', 0):4.1f} lim {m.get('limiter_gr_db', 0):4.1f} dB"
            f"  [{engine.source}]")
