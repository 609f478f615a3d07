"""Per-agent integration: launch arguments and hooks for Claude Code and Codex."""
