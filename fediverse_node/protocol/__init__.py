"""ActivityStreams in and out: pure functions, no I/O."""
