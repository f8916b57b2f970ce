"""The API is mounted under /api, but the schema the app serves at /openapi.json lists its
paths without the mount (Prefect's shape under --serve): every discovered path is a 404."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from tests.check_apps._common import router

api = FastAPI()
api.include_router(router)

app = FastAPI(openapi_url=None)
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"],
                   allow_credentials=True)  # fmt: skip
app.mount("/api", api)


@app.get("/openapi.json", include_in_schema=False)
def schema() -> dict:
    return get_openapi(title="api", version="1", routes=api.routes)
