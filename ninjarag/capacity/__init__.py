"""The capacity model: answers per second, time to first sentence and cost per million answers of
the generator on Inferentia2 / Trainium, from published serving benchmarks and this system's own
token counts per answer (bench/capacity.py prints it; docs/capacity.md explains it)."""
