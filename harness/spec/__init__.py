"""What the standards say, as code: the Fetch standard's vocabulary (`fetch_spec`) and
Starlette's CORSMiddleware release by release (`starlette_model`).

The bottom of the pipeline: pure, imported by every stage, importing none of them.
"""
