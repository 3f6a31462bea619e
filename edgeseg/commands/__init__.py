"""One module per CLI command; each keeps its heavy imports inside `main`."""
