"""`ninjarag prepare`: installs what is missing and prepares data and models, idempotently."""
