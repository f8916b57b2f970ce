"""One endpoint slower than any probe timeout; the others answer at once."""

import asyncio

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["http://127.0.0.1:5173"],
                   allow_headers=["*"], expose_headers=["X-Total"])  # fmt: skip


@app.get("/fast")
def fast() -> dict:
    return {"ok": True}


@app.get("/slow")
async def slow() -> dict:
    await asyncio.sleep(60)
    return {"ok": True}
