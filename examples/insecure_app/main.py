"""The same app with a classic mistake: an origin regex meant for "our subdomains" with
credentials on. `r"https://.*example\\.com"` also matches https://evilapp.example.com and
https://evil.example.com, so any such site reads the logged-in user's data.

    cors-matrix check examples.insecure_app.main:app --frontend https://app.example.com \\
        --api-origin https://api.example.com --login POST:/login --endpoint GET:/items/1
"""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from examples.guide_app.main import router  # the same routes; only the CORS config differs

app = FastAPI()

app.add_middleware(
    CORSMiddleware,
    allow_origin_regex=r"https://.*example\.com",
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)
app.include_router(router)
