"""The guide's first mistake: the frontend listed with a trailing slash. Starlette compares the
whole string and a browser's Origin never ends in '/', so the frontend is refused."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tests.check_apps._common import router

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com/"],
                   allow_credentials=True, allow_methods=["*"], allow_headers=["*"])  # fmt: skip
app.include_router(router)
