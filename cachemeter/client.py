"""The client SDK under its earlier name: `cachemeter_client` is where it lives (and what the
light `cachemeter-client` distribution installs); server-side code importing
`cachemeter.client` keeps working."""

from cachemeter_client import Reporter, instrument, prefix_hash

__all__ = ["Reporter", "instrument", "prefix_hash"]
