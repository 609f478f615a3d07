"""The agentd wire protocol (docs/protocol.md): vocabulary and a pure codec."""
