"""The integration gateway: one shared layer that serves every model.

Consumers call ``POST /v1/products/{product}/predict`` with an API key; the
gateway checks the key and its scopes, applies the rate limit and the input
adapter, validates each record against the product's contract, asks the
route's model (or its fallback) and records the prediction.
"""
