"""Development tools: a dummy JACK server, the demo album, the benchmarks."""
