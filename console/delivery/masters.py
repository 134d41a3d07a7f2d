"""Each song mastered once, a process per core, and kept until something it depends on changes.

A song's master depends on its audio file, its settings, its automation, its
level offset and fades, the session's rate and the DSP's code; all of them
go into its *key* (a hash), and the master is kept as ``<key>.npy`` (float32,
the session's rate) in the delivery's cache folder. A second delivery masters
only the songs whose key changed. Songs are mastered in worker processes
(spawned, each loading the prebuilt kernels, as ``render`` does) exactly as
``render --session --song`` masters them: from a fresh chain, at the session's
rate, so the album they make is what album playback plays.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from console.delivery.worker import master_into
from console.offline.session_render import audio_file
from console.session.model import Session, Song
from console.version import version

CACHE = ".masterdeck-cache"
"""The folder, inside the delivery's folder, where masters are kept."""


def song_key(folder: str | Path, session: Session, song: Song) -> str:
    """A hash of everything song ``song``'s master depends on."""
    from dsp._jit import source_hash

    path = audio_file(folder, song.file)
    stat = path.stat()
    facts = {"file": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
             "values": song.values(), "lanes": song.automation.packed().tolist(),
             "plan": [song.level_offset_db, song.fade_in_s, song.fade_out_s],
             "rate": session.sample_rate, "dsp": source_hash(), "masterdeck": version()}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:24]


class Masters:
    """The songs' masters of one session, mastered where missing, loaded where kept."""

    def __init__(self, folder: str | Path, session: Session, cache: Path) -> None:
        self.folder = str(folder)
        self.session = session
        self.cache = cache
        self.keys = {song.id: song_key(folder, session, song) for song in session.songs}
        self.mastered: list[str] = []
        """Songs mastered by this run (the others were kept from before)."""

    def path(self, song_id: str) -> Path:
        """Where song ``song_id``'s master is kept."""
        return self.cache / f"{self.keys[song_id]}.npy"

    def missing(self) -> list[str]:
        """The songs with no master kept for their key."""
        return [s.id for s in self.session.songs if not self.path(s.id).is_file()]

    def make(self, workers: int | None = None,
             progress: Callable[[float, str], None] | None = None) -> None:
        """Master every missing song, ``workers`` processes at once (default: a core each)."""
        todo = self.missing()
        if not todo:
            return
        self.cache.mkdir(parents=True, exist_ok=True)
        workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        done = 0
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            blob = pickle.dumps(self.session)
            running: dict[Future, str] = {
                pool.submit(master_into, self.folder, blob, song_id,
                            str(self.path(song_id))): song_id for song_id in todo}
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    song_id = running.pop(future)
                    future.result()  # a song that cannot be mastered stops the delivery
                    self.mastered.append(song_id)
                    done += 1
                    if progress is not None:
                        progress(done / len(todo), song_id)

    def load(self, song: Song) -> np.ndarray:
        """Song ``song``'s master (float64 frames, the session's rate)."""
        return np.load(self.path(song.id)).astype(np.float64)

    def forget_others(self) -> None:
        """Delete kept masters no song of this session has now (old keys)."""
        if not self.cache.is_dir():
            return
        wanted = {f"{key}.npy" for key in self.keys.values()}
        for path in self.cache.glob("*.npy"):
            if path.name not in wanted:
                path.unlink(missing_ok=True)
