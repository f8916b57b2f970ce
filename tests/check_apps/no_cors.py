"""An API with a cookie login and a Bearer-style header but no CORS middleware at all."""

from fastapi import FastAPI

from tests.check_apps._common import router

app = FastAPI()
app.include_router(router)
