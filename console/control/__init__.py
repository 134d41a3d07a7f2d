"""Control: the desk, the wire format, the server and its clients.

The desk (:mod:`~console.control.desk`) is the control side's one view of the
console; :mod:`~console.control.wire` is the wire format both ends import
(stdlib only, so thin clients start at once); the command tables say what a
request does; the server, its connections and the client carry them.
"""
