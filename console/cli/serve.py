"""``masterdeck serve``: run the console daemon (audio, control socket, surfaces).

With no arguments it opens the default audio device with an empty console,
ready for songs to be loaded over the control protocol. With ``--session DIR``
it opens that album (creating the folder if needed), replays its journal and
loads the current song with its settings and automation. Settings come from
the config file (``$XDG_CONFIG_HOME/masterdeck/config.toml``), then flags.
"""

from __future__ import annotations

import argparse

from console import config as configuration
from console import logs


def add_audio_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by ``serve`` and ``demo``."""
    parser.add_argument("--config", metavar="FILE", help="config file (default: XDG location)")
    parser.add_argument("--device", help="audio output device: name substring or index")
    parser.add_argument("--rate", type=int, dest="sample_rate", help="sample rate, Hz")
    parser.add_argument("--block", type=int, dest="block_size", help="frames per callback")
    parser.add_argument("--socket", help="control socket path")
    parser.add_argument("--tcp", metavar="HOST:PORT",
                        help="also listen on TCP (with a token: made and kept if none is given)")
    parser.add_argument("--token-file", metavar="FILE",
                        help="the token TCP clients must present, in a file only you can read "
                             "(or $MASTERDECK_TOKEN)")
    parser.add_argument("--token", help="the token on the command line: every local user "
                        "sees it in ps (prefer --token-file)")
    parser.add_argument("--python-callback", action="store_true", default=None,
                        help="use a plain Python audio callback (diagnosis only)")
    parser.add_argument("--live-input", action="store_true", default=None,
                        help="open the interface's input as a source")
    parser.add_argument("--midi-backend", choices=("auto", "alsa", "jack"))
    parser.add_argument("--surface", action="append", dest="surfaces", metavar="PROFILE=PORT",
                        help="bind a surface profile to a MIDI port (repeatable)")
    parser.add_argument("--virtual-midi", action="store_true", default=None,
                        help="open masterdeck's own virtual MIDI ports")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser("serve", help="run the console daemon", description=__doc__)
    add_audio_arguments(parser)
    parser.add_argument("--song", action="append", dest="songs", metavar="FILE",
                        help="load a song (repeatable; the first is made current)")
    parser.add_argument("--reference", metavar="FILE", help="load a reference track")
    parser.add_argument("--session", metavar="DIR",
                        help="open (or create) a session folder: the album, its settings and "
                             "automation, saved atomically and journaled")
    parser.set_defaults(run=run)


def build_config(args: argparse.Namespace) -> configuration.Config:
    """The config file, overridden by whatever flags were given."""
    config = configuration.load(args.config)
    for key in ("device", "sample_rate", "block_size", "socket", "tcp", "token", "token_file",
                "python_callback", "live_input", "midi_backend", "surfaces", "virtual_midi",
                "songs", "reference", "session"):
        value = getattr(args, key, None)
        if value is not None:
            setattr(config, key, value)
    config.token = _token(config, given_on_command_line=getattr(args, "token", None) is not None)
    return config


def _token(config: configuration.Config, given_on_command_line: bool) -> str:
    """The TCP token: from a private file, the environment, the config, or made now.

    Refused if too short; warned about if given on the command line or kept
    in a config file others can read.
    """
    import logging
    import os

    from console.control import trust

    log = logging.getLogger("console.serve")
    token = config.token
    if token and given_on_command_line:
        log.warning("the --token on the command line is visible to every local user (ps); "
                    "use --token-file FILE (chmod 600) or $MASTERDECK_TOKEN")
    elif config.token_file:
        token = trust.read_token_file(config.token_file)
    elif os.environ.get("MASTERDECK_TOKEN"):
        token = os.environ["MASTERDECK_TOKEN"].strip()
    elif token and config.source_path and os.stat(config.source_path).st_mode & 0o077:
        log.warning("control.token is in %s, which other users can read: chmod 600 it or use "
                    "control.token_file", config.source_path)
    if not config.tcp:
        return token
    if not token:
        path = configuration.config_home() / trust.TOKEN_FILE
        token = trust.read_token_file(path) if path.exists() else trust.make_token(path)
        log.warning("TCP clients need the token kept in %s (give it to them with --token-file "
                    "or $MASTERDECK_TOKEN)", path)
    trust.check_token(token, "the TCP token")
    return token


def run(args: argparse.Namespace) -> int:
    """Start the daemon and serve until a signal."""
    from console.daemon import Daemon  # here: the daemon pulls in numba and the DSP

    logs.setup(args.verbose)
    daemon = Daemon(build_config(args))
    daemon.handle_signals()
    daemon.start()
    code = daemon.run()
    _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """End the process as soon as the daemon has stopped, whatever a worker thread is doing.

    Everything is saved by now; a thread still blocked in a decode (a two-hour
    file, a slow disk) would otherwise keep the process alive, since Python
    joins the control server's worker threads at exit.
    """
    import logging
    import os
    import sys

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
