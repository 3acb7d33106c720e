"""Client side of the lab daemon protocol: connect, authenticate, lease, inventory."""
