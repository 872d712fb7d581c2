"""Ingest tasks (thin: take ids, call one service)."""
