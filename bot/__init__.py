"""chorus-bot: keeps the Chorus Pro technical user's password from expiring."""

__version__ = "0.1.0"
