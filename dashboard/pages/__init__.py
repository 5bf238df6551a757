"""One module per page: PATH, TITLE, NAME, layout(values) and register(app, context)."""
