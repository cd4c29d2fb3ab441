"""The `ninjarag` command: prepares data and models, runs the local stack, talks to the gateway."""
