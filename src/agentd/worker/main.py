"""Session worker: owns the PTY, the raw log, the screen model and sessions/<id>.sock.

Started by the daemon as `python -m agentd.worker -`, ahead of its spec, which comes down
stdin (a path instead of `-` names a file holding it); stdin closed with nothing on it means
it is not needed, and it exits. It forks once: the first process prints one JSON line (the
pids, or the reason the agent could not start) and exits, so the daemon never has to reap
the long-lived worker, which survives it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from agentd.errors import ProtocolError
from agentd.protocol.views import WorkerSpec
from agentd.unix import bind_private, daemonize, detach_stdio
from agentd.worker import process

# The loop, the emulator, the store and the logs are imported once the agent is running:
# `agent run` waits for the agent, not for the worker's imports (docs/performance.md).


def read_spec(path: str) -> WorkerSpec | None:
    try:
        text = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        if path == "-" and not text:
            return None  # the daemon no longer needs this worker
        return WorkerSpec.from_wire(json.loads(text))
    except (OSError, ValueError) as e:
        raise ProtocolError(f"cannot read worker spec {path}: {e}") from None


def _relay_ready(line: str) -> int:
    """The launcher: relay the worker's ready line, then exit so the daemon can reap us."""
    sys.stdout.write(line or '{"error": "worker died during start-up"}\n')
    sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        spec = read_spec(argv[0] if argv else "-")
    except ProtocolError as e:
        print(json.dumps({"error": e.message}), flush=True)
        return 2
    if spec is None:
        return 0
    ready = daemonize(_relay_ready)
    if isinstance(ready, int):
        return ready
    try:
        agent = process.spawn(spec.argv, spec.env, spec.cwd, spec.cols, spec.rows)
    except process.SpawnError as e:
        from agentd.jsonlog import JsonLog
        from agentd.worker.report import report_exit

        jlog = JsonLog(Path(spec.log).parent / "agentd.log", f"worker-{spec.session_id}")
        jlog("error", "agent could not start", task=spec.task, error=str(e))
        report_exit(spec, 127, str(e), failed_to_start=True)
        ready.send(json.dumps({"error": str(e)}) + "\n")
        return 127
    # Listening before the loop and its imports exist: `agent run` returns (and a client
    # may connect, its request waiting in the backlog) while the worker imports them.
    server = bind_private(spec.socket, 64)
    ready.send(json.dumps({"worker_pid": os.getpid(), "agent_pid": agent.pid}) + "\n")
    detach_stdio()  # the daemon reads our stdout to its end: let it end now
    from agentd.jsonlog import JsonLog
    from agentd.logfiles import RawLog
    from agentd.worker.loop import Worker

    jlog = JsonLog(Path(spec.log).parent / "agentd.log", f"worker-{spec.session_id}")
    log = RawLog(Path(spec.log), spec.log_max_bytes, spec.log_keep)
    worker = Worker(spec, agent, log, jlog)
    worker.listen(server)
    jlog("info", "session started", task=spec.task, pid=agent.pid, argv=spec.argv,
         cwd=spec.cwd)
    return worker.run()


if __name__ == "__main__":
    sys.exit(main())
