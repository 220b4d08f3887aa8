"""Kizuna (絆): a discord.py bot that runs a fan or brand community end to end."""
