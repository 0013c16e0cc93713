"""Where planned records go: one module per DNS provider kind."""
