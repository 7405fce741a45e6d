"""Page objects for the Chorus Pro / DGFiP portal, and the flows that chain them.

Nothing here talks to the user or the keyring: callers pass secrets in and get results out.
"""
