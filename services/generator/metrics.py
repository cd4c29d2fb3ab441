"""Generator metrics: the bucket each prompt lands in, its padding waste, time to first token."""

from prometheus_client import Counter, Gauge, Histogram

BUCKET_CHOSEN = Counter("ninjarag_generator_prompts_total", "Prompts by prefill bucket and packing policy.",
                        ["bucket", "policy"])
PADDING_WASTE = Histogram("ninjarag_generator_padding_waste_tokens", "Bucket minus prompt tokens.",
                          buckets=(0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096))
TIME_TO_FIRST_TOKEN = Histogram("ninjarag_generator_ttft_seconds", "Time to first token, by bucket.", ["bucket"],
                                buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32))
ADMITTED = Gauge("ninjarag_generator_requests_admitted", "Generations running or queued in the engine.")
ENGINE_UNFINISHED = Gauge("ninjarag_generator_engine_unfinished_requests", "Requests the engine is still working on.")
