"""An https frontend beside a regex that also trusts every local dev server, with credentials
(MLflow's shape): any page on http://localhost reads the user's data."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tests.check_apps._common import router

app = FastAPI()
app.include_router(router)
FRONTEND_OR_ANY_LOCAL_PAGE = r"https://app\.example\.com|http://localhost(:[0-9]+)?"
app.add_middleware(CORSMiddleware, allow_origin_regex=FRONTEND_OR_ANY_LOCAL_PAGE,
                   allow_credentials=True, allow_methods=["*"], allow_headers=["*"])  # fmt: skip
