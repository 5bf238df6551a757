"""The HTTP API: one router module per area, their dependencies, middleware and OpenAPI."""
