"""Delivery: exactly one email per subscriber per slot. This package knows no feeds.

1. ``plan`` finds the subscribers whose slot has come (``schedule``; the reads are in
   ``digest.selectors.delivery``), matches the day's papers for all of them in one pass, and writes
   one ``Delivery`` row each (UNIQUE subscriber + slot; ``pg`` is the PostgreSQL insert), batch by
   batch, handing each batch's chunks to the caller's queue (``digest.dispatch``).
2. ``send`` takes a chunk of row ids and sends them over a few SMTP connections (``smtp``), claiming
   each row right before its SMTP transaction and recording ``sent`` right after the server's 250.
   Every state change is a function of ``state``.
3. ``sweeper`` reconciles rows a lost worker left in ``sending``; ``ratelimit`` and ``circuit`` hold
   every worker to the relay's quota and pause sending when the relay fails; ``bounces`` (with the
   pure parser ``bounce_parse``) records bounces and is the one way an address is suppressed.

docs/DELIVERY.md has the map.
"""
