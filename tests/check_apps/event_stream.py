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
