"""masterdeck console: everything around the DSP.

``engine/`` runs in real time, ``control/`` is the desk and the control
protocol, ``surfaces/``, ``session/``, ``automation/`` and ``ui/`` are what
their names say, ``offline/`` renders and measures files, ``cli/`` is the
command line and ``devtools/`` holds the dummy JACK server, the demo and the
benchmarks. ``daemon.py`` ties engine, server and surfaces into ``masterdeck
serve``.
"""
