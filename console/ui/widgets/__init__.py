"""Widgets of the console UI: meters, strips, the chain, transport and connection."""
