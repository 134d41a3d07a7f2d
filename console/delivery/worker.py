"""What a delivery's worker process runs: one song mastered and kept.

Imported in a fresh (spawned) process, so it imports nothing at the top:
the prebuilt kernels are asked for first (as ``render`` does), and only then
the session, whose model imports the DSP.
"""

from __future__ import annotations


def master_into(folder: str, session_blob: bytes, song_id: str, path: str) -> str:
    """Master song ``song_id`` of the pickled session and keep it at ``path`` (.npy, float32)."""
    from dsp import prebuilt

    prebuilt.use()
    import os
    import pickle

    import numpy as np

    from console.offline.album import master_song
    from dsp import dither

    session = pickle.loads(session_blob)
    mastered = dither.to_float32(master_song(folder, session, session.song(song_id)))
    partial = f"{path}.{os.getpid()}.partial.npy"
    np.save(partial, mastered)
    os.replace(partial, path)  # a kept master is whole or absent
    return song_id
