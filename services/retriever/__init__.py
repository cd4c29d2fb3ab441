"""Retriever: ColBERT late-interaction search over a PLAID index."""
