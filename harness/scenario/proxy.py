"""What each `[server] proxy = ...` variant of the scenario format does to the API's answers.

serve/nginx.py renders these into a real nginx config; judge/oracle.py models the same lines,
so both read one definition. The variants are the guide's deployment section (serve/nginx.py
says which line does what).
"""

VARIANTS = ("pass", "add-allow-origin", "strip", "answer-options")
HIDDEN = ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
          "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
          "Access-Control-Max-Age", "Access-Control-Expose-Headers")  # fmt: skip
# The guide's commented-out block (Deployment Considerations), uncommented.
GUIDE_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "DNT,User-Agent,X-Requested-With,If-Modified-Since,"
    "Cache-Control,Content-Type,Range,Authorization",
}
GUIDE_OPTIONS_HEADERS = {
    "Access-Control-Max-Age": "1728000",
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": "0",
}
