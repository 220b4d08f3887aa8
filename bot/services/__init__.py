"""Domain services: the rules, as plain async Python. Never import discord here."""
