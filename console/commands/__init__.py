"""Subcommands of the ``masterdeck`` command line, one module each."""
