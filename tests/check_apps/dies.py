"""An app whose process ends in the middle of the check (a worker crash, an OOM kill)."""

import os

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])


@app.get("/a")
def a() -> dict:
    return {"ok": True}


@app.get("/b")
def b() -> dict:
    os._exit(3)
