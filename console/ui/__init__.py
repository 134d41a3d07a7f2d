"""The Textual console UI: a client of the daemon's control protocol, in its own process.

``masterdeck ui`` runs :func:`console.ui.app.build_app`; tests build the same
app and drive it with Textual's ``run_test()`` and ``Pilot`` against a real
daemon. The pieces, by job:

- ``link``: the connection (reconnects; MIDI learn on its own connection);
- ``model``: what the UI knows about the console (no Textual);
- ``draw``: pure drawing maths (meter cells, strips, rulers, lane shapes);
- ``keys``: the keyboard map, for the bindings and the help screen alike;
- ``actions``: what the keys do, as protocol requests;
- ``widgets`` and ``screens``: the views; ``masterdeck.tcss``: their layout.
"""
