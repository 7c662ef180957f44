"""Internal helpers (validation, shared patterns and defaults): not part of the public API."""
