"""A trivial JACK client for the soak benchmark, in a process of its own.

It copies its two inputs to its two outputs (the floor any JACK client gets
on this machine), counts the server's xruns, and logs the peak level of every
cycle with its frame time, so the soak can time when a change was heard.
Alone in its process, its Python callback competes with nothing.
Usage: ``python -m console.benchmarks.passthrough OUT.npz CONNECT_PREFIX``;
stops and writes ``OUT.npz`` on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading

import jack
import numpy as np

LOG = 4_000_000


def main() -> None:
    """Run until SIGTERM, then save the xrun count and the level log."""
    out_path, prefix = sys.argv[1], sys.argv[2]
    client = jack.Client("md-passthrough", no_start_server=True)
    ins = [client.inports.register(f"in_{c}") for c in range(2)]
    outs = [client.outports.register(f"out_{c}") for c in range(2)]
    frames_log = np.zeros(LOG, dtype=np.int64)
    levels_log = np.zeros(LOG, dtype=np.float32)
    state = {"n": 0, "xruns": 0}
    done = threading.Event()

    def process(frames: int) -> None:
        left = ins[0].get_array()
        for src, dst in zip(ins, outs, strict=True):
            dst.get_array()[:] = src.get_array()
        n = state["n"]
        if n < LOG:
            frames_log[n] = client.last_frame_time
            levels_log[n] = np.abs(left).max()
            state["n"] = n + 1

    def xrun(delay: float) -> None:
        state["xruns"] += 1

    client.set_process_callback(process)
    client.set_xrun_callback(xrun)
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    client.activate()
    connected = False
    while not done.wait(0.2):
        if not connected:
            ports = [p for p in client.get_ports(is_audio=True, is_output=True)
                     if p.name.startswith(prefix)]
            if len(ports) >= 2:
                for port, inport in zip(ports[:2], ins, strict=True):
                    client.connect(port, inport)
                connected = True
    client.deactivate()
    n = state["n"]
    np.savez(out_path, frames=frames_log[:n], levels=levels_log[:n], xruns=state["xruns"])
    client.close()


if __name__ == "__main__":
    main()
