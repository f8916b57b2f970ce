"""One endpoint slower than any probe timeout; another sets an exposed and an unexposed header;
the frontend runs on an IP origin."""

import asyncio

from fastapi import FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["http://127.0.0.1:5173"],
                   allow_headers=["*"], expose_headers=["X-Total"])  # fmt: skip


@app.get("/fast")
def fast(response: Response) -> dict:
    response.headers["X-Total"] = "3"  # exposed
    response.headers["X-Hidden"] = "4"  # sent, not exposed
    return {"ok": True}


@app.get("/slow")
async def slow() -> dict:
    await asyncio.sleep(60)
    return {"ok": True}
