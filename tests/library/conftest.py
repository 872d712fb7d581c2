"""Library tests reuse the ingest tests' loopback HTTP server with recorded arXiv API responses."""

from tests.ingest.conftest import fast_http, feed_server  # noqa: F401 -- fixtures used by the tests here
