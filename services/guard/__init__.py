"""Guard: question safety, citation verification, hallucination checks."""
