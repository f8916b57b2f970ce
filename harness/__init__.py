"""cors-matrix: what really crosses the origin boundary, observed in real browser engines."""
