"""A cookie session with a GET /logout in its schema (Gradio's shape): probed, it ends the
check's own session, and every later request runs logged out."""

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware

from tests.check_apps._common import router

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"],
                   allow_credentials=True, allow_methods=["*"], allow_headers=["*"])  # fmt: skip
app.include_router(router)


@app.get("/logout")
def logout(response: Response) -> dict:
    response.delete_cookie("session", secure=True, httponly=True, samesite="none")
    return {"logged_out": True}


@app.get("/me")
def me(request: Request) -> dict:
    if request.cookies.get("session") != "s3cret":
        raise HTTPException(401, "not signed in")
    return {"user": "alice"}
