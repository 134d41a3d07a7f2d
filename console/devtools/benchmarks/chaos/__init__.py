"""The chaos soak (``masterdeck bench --only chaos``): nothing acknowledged is ever lost.

For N minutes a daemon with a session takes random protocol changes, MIDI
floods, loads of good and bad files, disk-full spells, ``kill -9`` and
SIGTERM at random moments; after each restart every acknowledged change is
checked against the session. The parts:

- :mod:`.run` the run: one daemon life after another, each ended by a kill;
- :mod:`.actions` the driver: random requests, each outcome told to the oracle;
- :mod:`.oracle` what every acknowledged change should have left in the session;
- :mod:`.views` a session read back (from its folder or a daemon) as the oracle's keys;
- :mod:`.daemon` the daemon process under test, its CPU and memory;
- :mod:`.disk`, :mod:`.floods` the disk-full spells and the MIDI floods;
- :mod:`.watchers` the ``status`` poller (stalls) and a meter subscriber;
- :mod:`.files` good songs and bad files;
- :mod:`.report` the summary as plain text.
"""

