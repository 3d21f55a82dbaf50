"""The `fediverse-node` command."""
