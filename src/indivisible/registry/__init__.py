"""The architecture as temporal data: states, borders, organisations, memberships, agreements."""
