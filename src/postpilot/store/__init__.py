"""The metadata store: engines, tables, migrations and transactions."""
