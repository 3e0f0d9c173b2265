"""Monitoring: is the production data still the data the model was built on?

``postpilot.monitoring.drift`` holds the drift tests: each compares a reference
distribution of one column with a current one, from raw data or from mergeable
profiles (``postpilot.profiles``).
"""

__all__: list[str] = []
