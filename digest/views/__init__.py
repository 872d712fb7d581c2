"""Subscriber-facing pages, one module per area; thin: forms validate, services write, selectors read."""
