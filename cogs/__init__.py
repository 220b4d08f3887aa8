"""Thin discord.py cogs, one per capability: parse -> service -> render. Modules starting with '_'
are helpers, not extensions."""
