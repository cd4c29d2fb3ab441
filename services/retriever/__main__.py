import os

from services.common.serve import serve
from services.retriever.app import create_app
from services.retriever.settings import RetrieverSettings

if __name__ == "__main__":
    settings = RetrieverSettings()
    # Process setup, before torch and colbert-ai load: not the app factory's job.
    settings.apply_cpu_threads()
    # colbert-ai compiles its C++ extensions here; `ninjarag prepare` fills it beforehand.
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(settings.torch_extensions_dir))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    serve("retriever", settings, create_app)
