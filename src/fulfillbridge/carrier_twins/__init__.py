"""Local stand-ins for carriers' APIs, for tests and the demo: each module is a small ASGI
app that answers like the carrier's published API (``ups``)."""
