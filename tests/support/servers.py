"""An ASGI app served by uvicorn on a thread of the test process, on a free port."""

from __future__ import annotations

import threading
from typing import Any

import uvicorn

from tests.support.ports import free_port
from tests.support.waiting import eventually


class ThreadedServer:
    def __init__(self, app: Any, *, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        # Polled: uvicorn has no "started" event to wait on.
        eventually(
            lambda: self.server.started or not self.thread.is_alive(),
            within=10,
            every=0.02,
            what="uvicorn to start",
        )
        assert self.server.started, "uvicorn did not start"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
