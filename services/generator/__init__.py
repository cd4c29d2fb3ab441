"""Generator: vLLM with continuous batching, prefill buckets, the citing RAG prompt, token streaming."""
