"""Gateway: auth, rate limits, answer cache, and the guarded answer stream. Orchestrates, never computes."""
