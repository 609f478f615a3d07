"""state.db: every SQL statement agentd runs (db.py) and the numbered migrations."""
