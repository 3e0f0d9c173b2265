"""Model performance: realized metrics, and estimates before labels arrive (CBPE, DLE)."""
