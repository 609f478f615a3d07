"""agentd: run coding agents like processes, supervise them like jobs."""

__version__ = "0.1.0"
PROTOCOL_VERSION = 1
