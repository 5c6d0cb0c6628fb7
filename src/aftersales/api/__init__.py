"""The REST API (FastAPI): adapters from HTTP to the service layer."""
