"""Lambda code of the project's lifecycle custom resources (``index.py``; shipped as a code asset)."""
