"""Run with FastAPI 0.100 / Starlette 0.27 from a venv of its own (tests/test_check.py):
allow_origins=["*"] with credentials. Starlette 0.27 answers `*` to cookie-less requests
(so the frontend's login fails) and mirrors the Origin once a cookie comes along (so every
site reads the logged-in user's data)."""

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True,
                   allow_methods=["*"], allow_headers=["*"])  # fmt: skip


@app.post("/login")
def login(response: Response):
    response.set_cookie("session", "s3cret", httponly=True, secure=True, samesite="none")
    return {"ok": True}


@app.get("/items/{item_id}")
def item(item_id: int, request: Request):
    return {"id": item_id, "user": "alice" if request.cookies.get("session") else None}
