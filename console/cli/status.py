"""``masterdeck status``: what the running daemon is doing, in a few lines.

Stream (device, rate, block, latency), transport, song and reference, the
audio callback's load and xruns, and the latest meters. ``--json`` prints
the protocol's ``status`` reply as it is, for scripts.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from console.control.client import add_connection_arguments, client_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``status`` subcommand."""
    parser = subparsers.add_parser("status", help="show the running daemon's state",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    add_connection_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Ask the daemon for its status and print it."""
    with client_from_args(args) as client:
        status = client.request("status")
        where = client.where
    if args.json:
        print(json.dumps(status, indent=1))
    else:
        for line in format_status(status, where):
            print(line)
    return 0


def clock(seconds: float | None) -> str:
    """``m:ss.s`` for a position or a length."""
    if seconds is None:
        return "-"
    minutes, rest = divmod(max(float(seconds), 0.0), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


def _num(value: Any, unit: str, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else f"{fmt.format(value)} {unit}".rstrip()


def describe_transport(transport: dict[str, Any]) -> str:
    """One line: playing or stopped, position, source, matching and loop."""
    loop = transport.get("loop") or {}
    looping = (f"loop {clock(loop.get('start_s'))}-{clock(loop.get('end_s'))}"
               if loop.get("on") else "loop off")
    return " · ".join([
        *(["album mode"] if transport.get("album_mode") else []),
        "playing" if transport.get("playing") else "stopped",
        clock(transport.get("position_s")),
        f"hearing {transport.get('source', '?')}"
        + (f" as {transport['translation']}" if transport.get("translation", "off") != "off"
           else ""),
        "loudness-matched" if transport.get("match") else "match off",
        looping,
    ])


def describe_track(track: dict[str, Any] | None) -> str:
    """One line for a song or reference: title, length, loudness, true peak, path."""
    if not track:
        return "none"
    return (f"{track.get('title')} · {clock(track.get('duration_s'))} · "
            f"{_num(track.get('integrated_lufs'), 'LUFS')} · "
            f"{_num(track.get('true_peak_dbtp'), 'dBTP')} · {track.get('path')}")


def format_status(status: dict[str, Any], where: str = "") -> list[str]:
    """The status reply as the lines ``masterdeck status`` prints."""
    stream = status.get("stream") or {}
    server = status.get("server") or {}
    load = status.get("callback_load") or {}
    meters = status.get("meters") or {}
    latency = stream.get("output_latency_s")
    lines = [
        f"daemon     masterdeck {server.get('version', '?')} (protocol "
        f"{server.get('protocol', '?')}) at {where} · {server.get('clients', '?')} client(s)",
        "stream     " + " · ".join([
            "running" if stream.get("running") else "not running",
            str(stream.get("device", "no device")),
            f"{stream.get('sample_rate', '?')} Hz",
            f"{stream.get('block_size', '?')} frames",
            "latency " + ("-" if latency is None else f"{1000 * latency:.1f} ms"),
            f"{stream.get('callback', '?')} callback"]),
        f"transport  {describe_transport(status.get('transport') or {})}",
        f"song       {describe_track(status.get('song'))}",
        f"reference  {describe_track(status.get('reference'))}",
        "callback   " + (" · ".join([
            f"p50 {load.get('p50_ms', 0):.3f} ms ({100 * load.get('p50_load', 0):.1f} %)",
            f"p99 {load.get('p99_ms', 0):.3f} ms ({100 * load.get('p99_load', 0):.1f} %)",
            f"max {load.get('max_ms', 0):.3f} ms"]) if load else "no blocks yet")
        + f" · xruns {status.get('xruns', 0)}",
    ]
    room = status.get("room") or {}
    if room.get("running"):
        names = ", ".join(row["name"] for row in room.get("listeners", [])) or "nobody"
        lines.append(f"room       open at {room.get('url')} · listening: {names}")
    if meters:
        lines.append("meters     " + " · ".join([
            f"M {_num(meters.get('momentary_lufs'), '')}",
            f"S {_num(meters.get('short_term_lufs'), '')}",
            f"I {_num(meters.get('integrated_lufs'), 'LUFS')}",
            f"LRA {_num(meters.get('loudness_range_lu'), 'LU')}",
            f"TP {_num(meters.get('true_peak_dbtp'), 'dBTP')}",
            f"GR comp {_num(meters.get('comp_gr_db'), 'dB')}",
            f"limiter {_num(meters.get('limiter_gr_db'), 'dB')}"]))
    else:
        lines.append("meters     none yet")
    return lines
