"""The client's listening room: the live monitor output in a browser, notes on the timeline.

The audio callback only copies its output into a ring (:mod:`~console.room.ring`);
everything else runs beside it: a thread encodes Opus once for every listener
(:mod:`~console.room.feed`, :mod:`~console.room.opus`), aiortc sends it to each
browser over WebRTC (:mod:`~console.room.track`, :mod:`~console.room.peer`), an
aiohttp server serves the page and the signalling (:mod:`~console.room.web`, with
:mod:`~console.room.limits` and :mod:`~console.room.tls`), invites are tokens kept
hashed in a 0600 file (:mod:`~console.room.invites`), and a client's note becomes a
marker at the place the client heard (:mod:`~console.room.notes`).
:class:`~console.room.room.Room` ties them together for the daemon. See ``docs/room.md``.
"""
