"""The Plotly Dash app; it reads the database only through store query functions."""
