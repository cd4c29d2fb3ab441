"""What the four services share: wire contracts, settings, logging, metrics, HTTP, errors."""
