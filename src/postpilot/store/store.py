"""The :class:`Store`: one engine, migrated on first use, and its transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Delete, Update, event
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from postpilot.errors import AuditTamperedError, ConflictError, StoreError
from postpilot.store.engine import READ_ONLY, describe, is_read_only, make_engine
from postpilot.store.migrate import ensure_schema
from postpilot.store.models import AuditEventRow

__all__ = ["Store"]


class Store:
    """The metadata store at ``url``, migrated to the current schema on first use.

    A SQLite file this process may not write is opened read-only: :meth:`reading`
    works, :meth:`transaction` raises StoreError saying the store is read-only.

    >>> store = Store("sqlite:///:memory:")
    >>> with store.transaction() as session:
    ...     pass
    """

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            try:
                ensure_schema(self.engine)
            except BaseException:
                self.engine.dispose()  # no pooled connection outlives a refused store
                raise
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        event.listen(self._writer, "do_orm_execute", _refuse_audit_bulk_changes)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def read_only(self) -> bool:
        """Whether the store was opened read-only (its file or folder is not writable)."""
        return is_read_only(self.engine)

    def _read_only_error(self) -> StoreError:
        return StoreError(
            "the metadata store is read-only, so nothing can be changed",
            file=describe(self.engine),
            hint="Make the file and its folder writable, or point POSTPILOT_HOME at a "
            "writable copy; read commands work as it is",
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        if self.read_only:
            raise self._read_only_error()
        try:
            with self._writer.begin() as session:
                yield session
        except IntegrityError as exc:
            raise ConflictError(
                f"the change conflicts with the store's current state: {exc.orig}",
                hint="Another change may have happened at the same time; retry",
            ) from exc
        except OperationalError as exc:
            if "readonly" in str(exc.orig) or "read-only" in str(exc.orig):
                raise self._read_only_error() from exc
            raise StoreError(f"the metadata store refused the change: {exc.orig}") from exc

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        try:
            with self._reader.begin() as session:
                yield session
        except (OperationalError, DatabaseError) as exc:
            raise StoreError(
                f"the metadata store could not be read: {exc.orig}", file=describe(self.engine)
            ) from exc

    def close(self) -> None:
        self.engine.dispose()


@event.listens_for(AuditEventRow, "before_update")
def _refuse_update(_mapper: Any, _conn: Any, target: AuditEventRow) -> None:
    raise AuditTamperedError(f"audit event #{target.seq} is append-only and cannot be changed")


@event.listens_for(AuditEventRow, "before_delete")
def _refuse_delete(_mapper: Any, _conn: Any, target: AuditEventRow) -> None:
    raise AuditTamperedError(f"audit event #{target.seq} is append-only and cannot be deleted")


def _refuse_audit_bulk_changes(state: ORMExecuteState) -> None:
    statement = state.statement
    table = getattr(statement, "table", None)
    if isinstance(statement, Update | Delete) and getattr(table, "name", None) == "audit_events":
        raise AuditTamperedError("audit events are append-only: UPDATE and DELETE are refused")
