"""Early warning: the conflict and terrorism event store, indicators and anomaly flags."""
