"""Real time: the audio stream, the callback that runs the chain, the songs it plays.

:mod:`~console.engine.stream` opens the PortAudio stream and owns every table
the callback reads; :mod:`~console.engine.callback` is the numba ``@cfunc``
that runs in the audio thread with no Python; :mod:`~console.engine.tracks`
decodes songs and references for it.
"""
