"""The JSON API's routers, one module per resource, mounted under ``/api/v1``."""
