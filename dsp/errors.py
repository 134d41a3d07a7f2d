"""The exceptions masterdeck raises, under one root.

Each message names the id, file or key at fault and what was allowed, so the
person reading it can fix the input without reading code.
"""


class MasterdeckError(Exception):
    """Root of every error masterdeck raises on purpose."""


class ParameterError(MasterdeckError, ValueError):
    """An unknown parameter id, or a value outside what the table allows."""


class MappingError(MasterdeckError, ValueError):
    """A control-surface profile that cannot be used (names file and key)."""


class DeviceError(MasterdeckError, OSError):
    """An audio or MIDI device that cannot be opened or used."""


class AudioFileError(MasterdeckError, OSError):
    """An audio file that cannot be read or written."""
