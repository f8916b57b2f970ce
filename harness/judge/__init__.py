"""Stage 4, judging a cell: what should happen (`oracle`: a browser following the Fetch
standard against a modelled server, never fed from observations) and why a cell failed, in a
FastAPI developer's terms (`causes`).

Imports only spec/ and scenario/: the judge never sees how a cell was run.
"""
