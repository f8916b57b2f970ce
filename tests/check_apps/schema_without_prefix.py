"""The API is mounted under /api, but the schema the app serves at /openapi.json lists its
paths without the mount (Prefect's shape under --serve): every path in it is a 404.
`app`: the mounted API serves its own schema at /api/openapi.json, which check must find.
`hollow`: it does not, so nothing says where the paths are: no verdict."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from tests.check_apps._common import router


def _mounted(openapi_url: str | None) -> FastAPI:
    api = FastAPI(openapi_url=openapi_url)
    api.include_router(router)
    outer = FastAPI(openapi_url=None)
    outer.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"],
                         allow_credentials=True)  # fmt: skip
    outer.mount("/api", api)

    @outer.get("/openapi.json", include_in_schema=False)
    def schema() -> dict:
        return get_openapi(title="api", version="1", routes=api.routes)

    return outer


app = _mounted("/openapi.json")
hollow = _mounted(None)
