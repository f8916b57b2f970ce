"""Stage 3 and 5, running the matrix: the pytest plugin (`plugin`) collects scenario files
into cells (`cell`), drives one probe in an engine (`probe`), asks the judge, and appends one
record per cell (`results`, one file per xdist worker merged by `shards`). `interrupts` makes
Ctrl-C finish the cell's record first; `flake` re-runs a matrix to find unstable cells.
"""
