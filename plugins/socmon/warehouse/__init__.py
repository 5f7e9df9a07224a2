"""The Postgres warehouse: the embedded server, its roles, the COPY loader and the source cursors."""
