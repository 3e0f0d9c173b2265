"""Policies: what happens when a model degrades, declared per product and carried out.

A policy (YAML, validated on load) holds rules: ``when`` a metric crosses a
threshold ``then`` a list of actions (notify, open_incident, escalate,
fallback, block_promotion, retire). Monitoring results become
:class:`~postpilot.policies.observations.Observation` series; the evaluator
turns them into firings; the engine carries out the actions, records them in
the audit log and delivers notifications through channels.
"""
