"""Routes every small app here shares: a cookie login, an item read, a write."""

from fastapi import APIRouter, Request, Response

router = APIRouter()


@router.post("/login")
def login(response: Response) -> dict:
    response.set_cookie("session", "s3cret", httponly=True, secure=True, samesite="none")
    return {"logged_in": True}


@router.get("/items/{item_id}")
def read_item(item_id: int, request: Request) -> dict:
    return {"id": item_id, "user": "alice" if request.cookies.get("session") else None}


@router.post("/items")
def create_item(item: dict) -> dict:
    return {"created": item}
