"""Use cases: one function each, run inside the caller's unit of work, never committing."""
