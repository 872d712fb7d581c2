"""Ingesting papers, by concern: ``store`` (the one place papers are stored), ``runs`` (fetching a
feed and recording its run) and ``feeds`` (creating feeds for the ``add_feed`` command).

The adapters that turn a source's bytes into plain records are ``digest.ingest``; this package is
the database side.
"""
