"""One module per resource; each exposes ``router`` or ``make_router(...)``."""
