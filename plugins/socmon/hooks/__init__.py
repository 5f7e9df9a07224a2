"""Airflow hooks: credentials from connections, nothing else."""
