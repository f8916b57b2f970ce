"""CORS on the app, and a route that raises: its 500 comes from outside the middleware
(Open WebUI's shape under --serve, where the config is unknown)."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tests.check_apps._common import router

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])
app.include_router(router)


@app.get("/boom")
def boom() -> dict:
    raise RuntimeError("a bug")
