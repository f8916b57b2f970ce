"""A list endpoint whose total count the frontend reads from a header the CORS config does
not expose (the commonest pagination bug)."""

from fastapi import FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"],
                   expose_headers=["X-Request-Id"])  # fmt: skip


@app.get("/items")
def items(response: Response) -> list:
    response.headers["X-Total-Count"] = "3"
    return [1, 2, 3]
