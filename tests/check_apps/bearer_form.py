"""OAuth2 password flow: a form login returns a token, the frontend sends it as a Bearer
header, no cookies; CORS allows the Authorization header, without credentials."""

from fastapi import Depends, FastAPI, Form, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from fastapi.security import OAuth2PasswordBearer

app = FastAPI()
app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://app.example.com"],
    allow_methods=["*"],
    allow_headers=["Authorization", "Content-Type"],
)
oauth2 = OAuth2PasswordBearer(tokenUrl="token")


@app.post("/token")
def token(username: str = Form(), password: str = Form()) -> dict:
    if (username, password) != ("alice", "wonderland"):
        raise HTTPException(401, "bad credentials")
    return {"access_token": "tok-alice", "token_type": "bearer"}


@app.get("/me")
def me(token: str = Depends(oauth2)) -> dict:
    if token != "tok-alice":
        raise HTTPException(401, "bad token")
    return {"user": "alice"}
