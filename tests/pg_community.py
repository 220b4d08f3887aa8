"""`pg_community`: a fresh PostgreSQL database on the session's throwaway server (tests/backends.py),
named as an agency names a community: `postgresql://…/tN?schema=community_a` (the schema is created
by whoever opens it first). Dropped when the test ends. Import the fixture into a test module:
`from tests.pg_community import pg_community  # noqa: F401`."""
from __future__ import annotations

import pytest


@pytest.fixture
def pg_community():
    from tests.conftest import _postgres  # the session's server: started once, stopped at the end

    server = _postgres()
    url = server.fresh()
    try:
        yield f"{url}{'&' if '?' in url else '?'}schema=community_a"
    finally:
        server.release([url])  # a database with a schema of its own is dropped, not recycled
