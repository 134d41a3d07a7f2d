"""Offline: audio files, presets, and the render loop the album and delivery share."""
