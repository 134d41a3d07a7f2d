"""Benchmarks run by ``masterdeck bench``: each module returns a dict of figures."""
