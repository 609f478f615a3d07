"""The session worker: one detached process per session, owning the agent's PTY."""
