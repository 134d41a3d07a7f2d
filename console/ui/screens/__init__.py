"""The console's screens, one per job: meters and chain, album, automation, surfaces, help."""
