import os

from services.common.serve import serve
from services.generator.app import create_app
from services.generator.engines import vllm_environment
from services.generator.settings import GeneratorSettings

if __name__ == "__main__":
    settings = GeneratorSettings()
    # Process setup, before vLLM and torch start: not the app factory's job.
    settings.apply_cpu_threads()
    for key, value in vllm_environment(settings).items():
        os.environ.setdefault(key, value)
    serve("generator", settings, create_app)
