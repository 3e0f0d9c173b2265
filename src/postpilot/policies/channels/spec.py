"""A channel's configuration, read key by key, and the secrets it points to.

A channel is configured by a mapping (a block of a policy or settings file)::

    ops-webhook:
      type: webhook
      url: https://hooks.example.com/postpilot
      secret_env: POSTPILOT_OPS_WEBHOOK_SECRET

Secrets are never written in the mapping: a secret field ``secret`` is read
from the environment variable named by ``secret_env`` or from the file named by
``secret_file``. :class:`ChannelSpec` type-checks each key a channel reads,
and :meth:`ChannelSpec.finish` refuses the keys no one read, listing the
accepted ones. Every error is a ``ChannelConfigError`` whose ``field`` is the
channel's name; none shows a secret's value.

>>> spec = ChannelSpec("ops", {"secret_env": "OPS_SECRET", "timeout": 5},
...                    environ={"OPS_SECRET": "s3cr3t"})
>>> secret = spec.secret("secret")
>>> (secret.value, secret.source, spec.number("timeout", default=10.0))
('s3cr3t', 'environment variable OPS_SECRET', 5.0)
>>> secret
Secret(source='environment variable OPS_SECRET')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postpilot.errors import ChannelConfigError

__all__ = ["ChannelSpec", "Secret"]


@dataclass(frozen=True)
class Secret:
    """A secret's value and where it was read from; its repr shows only the source."""

    value: str = field(repr=False)
    source: str


class ChannelSpec:
    """The config mapping of the channel ``name``, with typed readers for its keys.

    ``environ`` is where ``*_env`` keys are looked up (``os.environ`` for a real
    run; tests pass a dict).
    """

    def __init__(self, name: str, values: Mapping[str, Any], *, environ: Mapping[str, str]):
        if not isinstance(values, Mapping):
            raise ChannelConfigError(
                f"channel '{name}' must be configured by a mapping of keys, "
                f"got {type(values).__name__}",
                field=name,
                hint="Write the channel as a block of key: value lines",
            )
        self.name = name
        self._values = values
        self._environ = environ
        self._known: set[str] = set()

    def has(self, key: str) -> bool:
        """Whether ``key`` is given (and remember it as accepted)."""
        self._known.add(key)
        return key in self._values

    def required_text(self, key: str) -> str:
        """The non-empty string under ``key``, which must be given."""
        value = self.text(key)
        if value is None:
            raise self.error(f"needs '{key}'", hint=f"Add {key}: ... to the channel")
        return value

    def text(self, key: str, default: str | None = None) -> str | None:
        """The non-empty string under ``key``, or ``default`` when it is absent."""
        if not self.has(key) or self._values[key] is None:
            return default
        value = self._values[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(
                f"'{key}' must be a non-empty string, got {_shown(value)}",
                hint=f"Write {key}: followed by text",
            )
        return value

    def flag(self, key: str, *, default: bool = False) -> bool:
        """The boolean under ``key`` (``true``/``false``; no strings, no numbers)."""
        if not self.has(key) or self._values[key] is None:
            return default
        value = self._values[key]
        if not isinstance(value, bool):
            raise self.error(
                f"'{key}' must be true or false, got {_shown(value)}",
                hint=f"Write {key}: true or {key}: false",
            )
        return value

    def number(
        self, key: str, *, default: float, minimum: float = 0.0, maximum: float = math.inf
    ) -> float:
        """The number under ``key``, which must be > ``minimum`` and <= ``maximum``."""
        if not self.has(key) or self._values[key] is None:
            return default
        value = self._values[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not minimum < value <= maximum
        ):
            limit = "" if math.isinf(maximum) else f" and at most {maximum:g}"
            raise self.error(
                f"'{key}' must be a number above {minimum:g}{limit}, got {_shown(value)}",
                hint=f"Write {key}: followed by a number, e.g. {key}: {default:g}",
            )
        return float(value)

    def integer(self, key: str, *, minimum: int, maximum: int) -> int | None:
        """The whole number under ``key`` within [minimum, maximum], or None when absent."""
        if not self.has(key) or self._values[key] is None:
            return None
        value = self._values[key]
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise self.error(
                f"'{key}' must be a whole number from {minimum} to {maximum}, got {_shown(value)}",
                hint=f"Write {key}: followed by a whole number",
            )
        return value

    def secret(self, key: str) -> Secret | None:
        """The secret named ``key``, from ``<key>_env`` or ``<key>_file``; None when neither.

        Writing ``<key>`` itself in the config is refused: config files are
        committed, printed and stored, secrets must not be.
        """
        env_key, file_key = f"{key}_env", f"{key}_file"
        inline, from_env, from_file = self.has(key), self.has(env_key), self.has(file_key)
        self._known.discard(key)
        if inline:
            raise self.error(
                f"'{key}' is a secret and is never written in the config",
                hint=f"Put it in an environment variable named by {env_key}, "
                f"or in a file named by {file_key}",
            )
        if from_env and from_file:
            raise self.error(
                f"gives both '{env_key}' and '{file_key}'; give one",
                hint=f"Remove {env_key} or {file_key}",
            )
        if from_env:
            return self._from_env(env_key)
        if from_file:
            return self._from_file(file_key)
        return None

    def required_secret(self, key: str) -> Secret:
        """The secret named ``key``, which must be configured (see :meth:`secret`)."""
        secret = self.secret(key)
        if secret is None:
            raise self.error(
                f"needs '{key}_env' or '{key}_file'",
                hint=f"Name the environment variable or file holding the {key}",
            )
        return secret

    def text_or_secret(self, key: str) -> tuple[str, Secret | None]:
        """``key`` written in the config, or read as a secret from ``<key>_env`` or
        ``<key>_file`` (for values such as URLs that hold a token only sometimes).
        Returns the value and the Secret it came from (None when written)."""
        found = self.optional_text_or_secret(key)
        if found is None:
            raise self.error(
                f"needs '{key}'",
                hint=f"Add {key}: ..., or {key}_env / {key}_file when it holds a token",
            )
        return found

    def optional_text_or_secret(self, key: str) -> tuple[str, Secret | None] | None:
        """Like :meth:`text_or_secret`, but None when none of the three keys is given."""
        if self.has(key):
            for other in (f"{key}_env", f"{key}_file"):
                if self.has(other):
                    raise self.error(
                        f"gives both '{key}' and '{other}'; give one", hint=f"Remove {other}"
                    )
            return self.required_text(key), None
        secret = self.secret(key)
        self._known.add(key)
        return None if secret is None else (secret.value.strip(), secret)

    def finish(self) -> None:
        """Refuse every key no reader asked for, listing the accepted keys."""
        unknown = sorted(str(key) for key in self._values if key not in self._known)
        if unknown:
            raise self.error(
                f"has unknown key(s): {', '.join(unknown)}",
                hint=f"Accepted keys: {', '.join(sorted(self._known))}",
            )

    def error(self, problem: str, *, hint: str | None = None) -> ChannelConfigError:
        """A ChannelConfigError about this channel (returned, for the caller to raise)."""
        return ChannelConfigError(f"channel '{self.name}' {problem}", field=self.name, hint=hint)

    def _from_env(self, key: str) -> Secret:
        variable = self.text(key)
        assert variable is not None  # has() was true and text() refuses None/empty
        value = self._environ.get(variable)
        if value is None or not value.strip():
            state = "not set" if value is None else "empty"
            raise self.error(
                f"reads its {key.removesuffix('_env')} from the environment variable "
                f"{variable}, which is {state}",
                hint=f"Set {variable} in the environment postpilot runs in",
            )
        return Secret(value=value, source=f"environment variable {variable}")

    def _from_file(self, key: str) -> Secret:
        name = self.text(key)
        assert name is not None
        path = Path(name).expanduser()
        what = key.removesuffix("_file")
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise self.error(
                f"reads its {what} from the file {path}, which cannot be read ({reason})",
                hint="Check the path and that postpilot's user may read the file",
            ) from None
        if not value.strip():
            raise self.error(
                f"reads its {what} from the file {path}, which is empty",
                hint=f"Write the {what} into {path}",
            )
        return Secret(value=value, source=f"file {path}")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
