"""The `agent` command-line client."""
