"""A FastAPI app written the way the guide shows: origins from ALLOWED_ORIGINS (stripped),
credentials on, every method and header allowed, a cookie session set by /login.

    cors-matrix check examples.guide_app.main:app --frontend https://app.example.com \\
        --api-origin https://api.example.com --login POST:/login \\
        --endpoint GET:/items/1 --endpoint "POST:/items {\\"name\\": \\"x\\"}"
"""

import os

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware

router = APIRouter()
app = FastAPI()

allowed = os.environ.get("ALLOWED_ORIGINS", "https://app.example.com")
origins = [origin.strip() for origin in allowed.split(",")] if allowed else []

app.add_middleware(
    CORSMiddleware,
    allow_origins=origins,
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)


@router.post("/login")
def login(response: Response) -> dict:
    # app.example.com -> api.example.com is same-site: Lax is enough, Secure over https
    response.set_cookie("session", "s3cret", httponly=True, secure=True, samesite="lax")
    return {"logged_in": True}


@router.get("/items/{item_id}")
def read_item(item_id: int, request: Request) -> dict:
    return {"id": item_id, "user": "alice" if request.cookies.get("session") else None}


@router.post("/items")
def create_item(item: dict) -> dict:
    return {"created": item}


app.include_router(router)
