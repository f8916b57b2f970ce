"""A public, cookie-less API: allow_origins=["*"] and no credentials; writes are JSON."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])


@app.get("/things")
def things() -> list:
    return [1, 2, 3]


@app.post("/things")
def add(thing: dict) -> dict:
    return {"added": thing}
