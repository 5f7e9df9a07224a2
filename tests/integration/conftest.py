import psycopg
import pytest

from socmon.config import settings
from socmon.warehouse import loader, roles, server


@pytest.fixture(scope="session")
def warehouse():
    """A fresh `socmon_test` database with the three roles and the raw schema."""
    server.up()
    creds = server.credentials()
    s = settings()
    with psycopg.connect(
        host=s.pg_host,
        port=s.pg_port,
        dbname="postgres",
        user=server.OWNER,
        password=creds[server.OWNER],
        autocommit=True,
    ) as conn:
        conn.execute(f'drop database if exists "{s.database}" with (force)')
    roles.ensure_database(creds)
    return server


@pytest.fixture
def admin(warehouse):
    with warehouse.connect("admin", autocommit=True) as conn:
        yield conn


@pytest.fixture
def empty_raw(admin):
    loader.empty_raw(admin)
    # threads of other modules' worlds, which the extractors would try to re-read here
    admin.execute("drop view if exists marts.open_incident_threads")
    return admin
