"""`serve --workers N`: uvicorn's process supervisor, with our health-check timeout and a log line that says
when (and why) it kills a worker.

The supervisor pings each worker over a pipe every half second; a worker that does not answer within
WORKER_HEALTHCHECK_TIMEOUT_SECONDS is killed (SIGKILL) and replaced. A worker starved of CPU (an overloaded
machine, a long pause) misses pings although it is healthy, so the timeout must exceed the longest stall to
be expected; requests in flight on a killed worker are dropped (the client sees the connection reset).
"""

from __future__ import annotations

import logging
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess, Process

log = logging.getLogger("producer_graph.supervisor")


class LoggingMultiprocess(Multiprocess):
    """uvicorn's Multiprocess, logging a worker killed for missing its health check as such."""

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        timeout = self.config.timeout_worker_healthcheck
        for index, process in enumerate(self.processes):
            if process.is_alive(timeout=timeout):
                continue
            hung = process.process.is_alive()
            if hung:
                log.error("worker killed: it did not answer the health check within %s s; its requests in flight "
                          "are dropped", timeout, extra={"worker_pid": process.pid, "timeout_seconds": timeout})
            process.kill()
            process.join()
            if self.should_exit.is_set():
                return
            if not hung:
                log.error("worker died; starting another", extra={"worker_pid": process.pid,
                                                                  "exit_code": process.exitcode})
            replacement = Process(self.config, self.sockets)
            replacement.start()
            self.processes[index] = replacement
            log.info("worker started", extra={"worker_pid": replacement.pid})


def serve(app: str, *, host: str, port: int, workers: int, healthcheck_timeout: int, **options: Any) -> None:
    """Run `app` (an import string of a factory) with uvicorn, supervised when `workers` > 1."""
    config = uvicorn.Config(app, factory=True, host=host, port=port, workers=workers,
                            timeout_worker_healthcheck=healthcheck_timeout, **options)
    server = uvicorn.Server(config)
    if config.workers > 1:
        sock = config.bind_socket()
        LoggingMultiprocess(config, sockets=[sock]).run()
    else:
        server.run()
