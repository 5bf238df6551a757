"""Pure cache behaviour: why a request missed, what a 1-hour TTL would have made of its writes,
and when a key's hit rate has regressed. No database, HTTP or clock; imports only billing."""
