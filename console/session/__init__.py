"""Sessions: an album in a folder that survives anything.

``session.toml`` (human-readable: songs in order with their files, per-song
settings, level offsets, gaps, fades, markers and notes, references,
snapshots) and one automation file per song beside it, saved atomically with
numbered backups, and a journal of every change between saves. See
``docs/sessions.md`` for the folder and the file formats.

The modules: :mod:`~console.session.model` (the data), :mod:`~console.session.tomlfile`
(session.toml both ways, errors with line numbers), :mod:`~console.session.store`
(the folder: atomic saves, backups, recovery), :mod:`~console.session.journal`
(the append-only change log), :mod:`~console.session.undo`,
:mod:`~console.session.controller` (a session driving a running engine) and
:mod:`~console.offline.session_render` (the offline render of a session's songs).
"""
