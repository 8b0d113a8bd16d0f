"""Storing prepared events into ClickHouse (the events database `clickhouse://`, `chdb:///`):
the writer's bookkeeping (`state.py`), what it reads back (`reads.py`), the rows of one batch
(`batch.py`) and the spool's frames stored exactly once (`frames.py`). docs/ingestion.md,
"Events in ClickHouse"."""
