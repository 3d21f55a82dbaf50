"""Keys, password hashing and (with federation) HTTP signatures."""
