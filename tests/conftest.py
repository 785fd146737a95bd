"""Shared test settings."""

from hypothesis import settings

# No per-example deadline: a timing assertion does not belong in a test, and on a
# loaded 2-core CI machine a graph layout can take longer than hypothesis' 200 ms.
settings.register_profile("journeygraph", deadline=None)
settings.load_profile("journeygraph")
