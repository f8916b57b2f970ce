"""allow_origins entries no browser ever sends as an Origin (a missing scheme, the guide's
trailing slash, upper case, a default port written out), beside the real frontend: Starlette
compares the whole string, so they let no page read; the check says so and still passes."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tests.check_apps._common import router

DEAD = ["app.example.com", "https://app.example.com/", "https://App.example.com",
        "https://app.example.com:443"]  # fmt: skip

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com", *DEAD],
                   allow_credentials=True, allow_methods=["*"], allow_headers=["*"])  # fmt: skip
app.include_router(router)
