"""Policies: what happens when a model degrades, declared per product and carried out.

A policy (YAML, validated on load) holds rules: ``when`` a metric crosses a
threshold ``then`` a list of actions (notify, open_incident, escalate,
fallback, block_promotion, retire). Monitoring results become
:class:`Observation` series; :func:`evaluate` turns them into
:class:`Firing` values; a monitor pass (:func:`monitor_once`) stores new
evidence, carries out each firing once, and delivers the notifications.
See docs/policies.md.

>>> policy = loads_policy('''
... rules:
...   - name: inputs-drifted
...     when: {metric: drift.share, threshold: 0.3}
...     then: [notify: owner, open_incident: {severity: high}]
... ''')
>>> [action.key for action in policy.rules[0].actions]
['notify', 'open_incident']
"""

from postpilot.policies.defaults import default_policy
from postpilot.policies.dryrun import dry_run
from postpilot.policies.evaluate import Firing, evaluate
from postpilot.policies.io import dumps_policy, load_policy, loads_policy, policy_schema
from postpilot.policies.model import Policy, Rule, When
from postpilot.policies.monitor import PassResult, run_pass
from postpilot.policies.observations import Observation, observations_from_run
from postpilot.policies.service import monitor_once, send_test
from postpilot.policies.store import LoadedPolicy, apply_policy, load_effective

__all__ = [
    "Firing",
    "LoadedPolicy",
    "Observation",
    "PassResult",
    "Policy",
    "Rule",
    "When",
    "apply_policy",
    "default_policy",
    "dry_run",
    "dumps_policy",
    "evaluate",
    "load_effective",
    "load_policy",
    "loads_policy",
    "monitor_once",
    "observations_from_run",
    "policy_schema",
    "run_pass",
    "send_test",
]
