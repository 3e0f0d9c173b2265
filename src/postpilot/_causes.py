"""Walking an exception's chain of causes (``raise ... from`` and implicit context)."""

from __future__ import annotations

__all__ = ["caused_by"]


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``exc`` or any exception in its chain of causes is a ``kind``.

    >>> try:
    ...     try:
    ...         raise TimeoutError("slow")
    ...     except TimeoutError as inner:
    ...         raise RuntimeError("failed") from inner
    ... except RuntimeError as outer:
    ...     caused_by(outer, TimeoutError), caused_by(outer, KeyError)
    (True, False)
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
