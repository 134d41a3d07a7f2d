"""The control-surface profiles masterdeck ships: TOML data, one file per device model.

A package only so that the wheel carries the files and :func:`importlib.resources.files`
finds them wherever masterdeck is installed; there is no code here.
"""
