"""`ninjarag eval`: answer accuracy as in the paper, retrieval recall, citation quality, latency."""
