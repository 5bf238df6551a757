"""Collectors and normalisers: provider usage shapes -> canonical usage records -> stored."""
