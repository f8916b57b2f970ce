"""An app factory, as many projects have (uvicorn --factory app:create_app)."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tests.check_apps._common import router


def create_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["https://app.example.com"],
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    app.include_router(router)
    return app
