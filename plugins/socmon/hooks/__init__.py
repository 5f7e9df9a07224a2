"""Airflow hooks: credentials from connections, nothing else."""

from __future__ import annotations

from typing import Any


def api_url_from_connection(conn: Any, default: str) -> str:
    """The connection's host (with scheme and port) when set, e.g. the sandbox; else the real API."""
    if not conn.host:
        return default
    url = conn.host if "://" in conn.host else f"{conn.schema or 'http'}://{conn.host}"
    return f"{url}:{conn.port}" if conn.port else url
