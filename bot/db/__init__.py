"""Storage: one SQLite file (WAL), numbered migrations, one repository module per area."""
from .connection import Database, open_database

__all__ = ["Database", "open_database"]
