"""masterdeck console: the daemon, surfaces, sessions, protocol, UI and command line."""
