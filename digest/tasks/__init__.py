"""Celery tasks, one module per concern. The worker imports them all (``imports`` in paperboy/celery.py);
this package imports nothing, so ``digest.dispatch`` can import a task module without a cycle."""
