"""An API whose CORS allows only another frontend (an admin site), not the one under check."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tests.check_apps._common import router

app = FastAPI()
app.include_router(router)
app.add_middleware(CORSMiddleware, allow_origins=["https://admin.example.com"],
                   allow_credentials=True, allow_methods=["*"], allow_headers=["*"])  # fmt: skip
