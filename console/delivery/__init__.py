"""Delivery: the finished album as files a pressing plant or a platform accepts, and a report.

``masterdeck deliver SESSION OUTDIR`` renders the album once (as album playback
plays it) and writes every target's files: CD (DDP 2.0 image and CUE sheet),
streaming, hi-res, broadcast and vinyl masters, with their metadata, a codec
check and a report that shows every number.
"""
