"""A bare Streamlit client over the real WebSocket: run the app once with chosen headers.

A browser cannot send one header twice; this client can (``websockets`` sends the list as is),
so a test can check what the server does with a doubled ``X-Forwarded-User``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

RUN_TIMEOUT_S = 60.0


def markdown_of_one_run(port: int, headers: Sequence[tuple[str, str]]) -> list[str]:
    """The Markdown bodies the app sends for one run of its script, connecting with ``headers``."""
    return asyncio.run(_run(port, headers))


async def _run(port: int, headers: Sequence[tuple[str, str]]) -> list[str]:
    uri = f"ws://127.0.0.1:{port}/_stcore/stream"
    async with websockets.connect(
        uri, subprotocols=["streamlit"], additional_headers=list(headers), max_size=None
    ) as ws:
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        await ws.send(rerun.SerializeToString())
        bodies: list[str] = []
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while (left := deadline - time.monotonic()) > 0:
            message = ForwardMsg()
            message.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=left))
            kind = message.WhichOneof("type")
            if kind == "delta" and message.delta.new_element.WhichOneof("type") == "markdown":
                bodies.append(message.delta.new_element.markdown.body)
            if kind == "script_finished":
                return bodies
        raise TimeoutError(f"the app did not finish a run within {RUN_TIMEOUT_S:.0f} s")
