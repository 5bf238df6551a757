"""Background work in the server: regression checks, the webhook, retention."""
