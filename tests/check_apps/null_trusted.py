"""'null' in allow_origins (for local files during development): any site can send it."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tests.check_apps._common import router

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com", "null"],
                   allow_credentials=True, allow_methods=["*"], allow_headers=["*"])  # fmt: skip
app.include_router(router)
