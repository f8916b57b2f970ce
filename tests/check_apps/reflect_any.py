"""No CORSMiddleware: a hand-written middleware that echoes any Origin with credentials."""

from fastapi import FastAPI, Request

from tests.check_apps._common import router

app = FastAPI()


@app.middleware("http")
async def cors_by_hand(request: Request, call_next):
    response = await call_next(request)
    origin = request.headers.get("origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
    return response


app.include_router(router)
