"""Delivery tasks (thin: take ids, call one service)."""
