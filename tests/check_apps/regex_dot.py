"""An allow_origin_regex with unescaped dots: "." also matches "x" (https://appxexample.com)."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tests.check_apps._common import router

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origin_regex=r"https://(www|app).example.com",
                   allow_credentials=True, allow_methods=["*"], allow_headers=["*"])  # fmt: skip
app.include_router(router)
