"""A text/event-stream endpoint that never ends (Gradio's heartbeat shape): judged by its head,
with no per-request timeout to wait out."""

import asyncio

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import StreamingResponse

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])


@app.get("/events")
async def events() -> StreamingResponse:
    async def heartbeat():
        while True:
            yield "data: ping\n\n"
            await asyncio.sleep(0.5)

    return StreamingResponse(heartbeat(), media_type="text/event-stream")


@app.get("/quiet")
async def quiet() -> StreamingResponse:
    """A stream whose head goes out at once and whose first event comes much later."""

    async def later():
        await asyncio.sleep(60)
        yield "data: ping\n\n"

    return StreamingResponse(later(), media_type="text/event-stream")
