"""One error tree. Every error a user can hit is an AgentdError with a one-line message.

The `code` travels over the wire (see docs/protocol.md) so the client can rebuild the
same exception and exit with the matching status.
"""

from __future__ import annotations

# Exit codes of the `agent` command (posting-style named codes).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
EXIT_DAEMON = 5
EXIT_GIT = 6
EXIT_CONFIG = 7


class AgentdError(Exception):
    """Root of every error agentd reports to a user."""

    code = "error"
    exit_code = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(AgentdError):
    code = "usage"
    exit_code = EXIT_USAGE


class InvalidName(UsageError):
    code = "invalid_name"


class TaskNotFound(AgentdError):
    code = "not_found"
    exit_code = EXIT_NOT_FOUND


class Conflict(AgentdError):
    """Something already exists or is in the wrong state (name taken, already attached)."""

    code = "conflict"
    exit_code = EXIT_CONFLICT


class ConfigError(AgentdError):
    code = "config"
    exit_code = EXIT_CONFIG


class GitError(AgentdError):
    code = "git"
    exit_code = EXIT_GIT

    def __init__(self, message: str, argv: list[str] | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.argv = argv or []
        self.stderr = stderr


class DaemonError(AgentdError):
    """The daemon could not be reached or started."""

    code = "daemon"
    exit_code = EXIT_DAEMON


class ProtocolError(AgentdError):
    code = "protocol"


_BY_CODE = {
    cls.code: cls
    for cls in (AgentdError, UsageError, InvalidName, TaskNotFound, Conflict, ConfigError,
                GitError, DaemonError, ProtocolError)
}


def from_wire(code: str, message: str) -> AgentdError:
    """Rebuild the exception a peer reported."""
    return _BY_CODE.get(code, AgentdError)(message)
