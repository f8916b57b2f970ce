"""allow_origins given as a string: Starlette tests `origin in "https://app.example.com"`, a
substring test, so https://app.example.co (another, buyable domain) is allowed too."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tests.check_apps._common import router

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins="https://app.example.com",
                   allow_credentials=True, allow_methods=["*"], allow_headers=["*"])  # fmt: skip
app.include_router(router)
