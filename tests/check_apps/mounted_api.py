"""The API mounted under /api beside other things (a frontend's static files, a health route);
its OpenAPI schema knows only /items/..., the real path is /api/items/...; one endpoint needs a
uuid path parameter."""

import uuid

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tests.check_apps._common import router

api = FastAPI()
api.include_router(router)


@api.get("/orders/{order_id}")
def order(order_id: uuid.UUID) -> dict:
    return {"order": str(order_id)}


@api.post("/logout")
def logout() -> dict:  # a discovered write: must not be sent unless asked
    raise RuntimeError("logout must not be probed without --writes")


app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"],
                   allow_credentials=True, allow_methods=["*"], allow_headers=["*"])  # fmt: skip


@app.get("/health")
def health() -> dict:
    return {"ok": True}


app.mount("/api", api)
