"""Storage: one SQLite file (WAL), numbered migrations, one repository module per area."""
from .connection import Database, open_database
from .writer_lock import DatabaseInUse, DatabaseOpenError

__all__ = ["Database", "DatabaseInUse", "DatabaseOpenError", "open_database"]
