"""allow_origins=["*"] with credentials (Starlette then mirrors every Origin), and a lifespan
whose shutdown ends the process with os._exit(0), as a real framework does."""

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tests.check_apps._common import router


@asynccontextmanager
async def lifespan(app):
    yield
    os._exit(0)


app = FastAPI(lifespan=lifespan)
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True,
                   allow_methods=["*"], allow_headers=["*"])  # fmt: skip
app.include_router(router)
