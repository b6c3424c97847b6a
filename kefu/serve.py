"""Run the ASGI application (HTTP and WebSocket) under uvicorn, with in-process side services."""

from __future__ import annotations

import uvicorn


def run_server(*, host: str, port: int, workers: int = 1) -> None:
    print(f"Kefu is serving on http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    uvicorn.run(
        "kefu.asgi:application",
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        ws="websockets-sansio",
        lifespan="off",
    )
