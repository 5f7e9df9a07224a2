"""The Airflow Assets that chain the DAGs: extract → transform → publish."""

from airflow.sdk import Asset

RAW_MESSAGES = Asset("socmon://warehouse/raw/messages")
MARTS = Asset("socmon://warehouse/marts")
