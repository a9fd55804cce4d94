"""Typer command functions grouped by area; ``fulfillbridge.cli`` registers them."""
