"""Gateway metrics: answers by outcome, latency per stage, time to first sentence, cache, guard."""

from prometheus_client import Counter, Histogram

from services.common.metrics import LATENCY_BUCKETS_S

ANSWERS = Counter("ninjarag_answers_total", "Answers by outcome (ok, partial, refuse, error type).", ["outcome"])
STAGE_LATENCY = Histogram("ninjarag_answer_stage_seconds", "Time per pipeline stage.", ["stage"], buckets=LATENCY_BUCKETS_S)
TIME_TO_FIRST_SENTENCE = Histogram("ninjarag_time_to_first_sentence_seconds", "From request to the first released sentence.",
                                   buckets=LATENCY_BUCKETS_S)
CACHE = Counter("ninjarag_answer_cache_total", "Answer cache lookups by result (hit, miss, error).", ["result"])
GUARD_ACTIONS = Counter("ninjarag_gateway_guard_actions_total", "Sentences by guard action.", ["action"])
REDIS_ERRORS = Counter("ninjarag_gateway_redis_errors_total", "Redis calls that failed, by use.", ["use"])
SHADOW_COPIES = Counter("ninjarag_shadow_copies_total", "Shadow copies of live answers by outcome (answered, "
                        "failed, preempted by a live answer, expired without an idle moment, skipped: too many "
                        "pending).", ["outcome"])
