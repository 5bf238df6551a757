"""The read model (and audited re-pricing): what the API, the dashboard and the CLI report."""
