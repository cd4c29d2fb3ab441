"""Compile colbert-ai's four C++ extensions into TORCH_EXTENSIONS_DIR ahead of time.

They JIT-compile on first use; `ninjarag prepare` runs this once so that no request, test or
container start pays for it. Each compile is one single-threaded g++ run (about a minute on these
cores), so the three classes that own them compile in parallel processes, one per core:
    TORCH_EXTENSIONS_DIR=DIR python -m services.retriever.build.extensions
"""

from __future__ import annotations

import importlib
import os
from concurrent.futures import ProcessPoolExecutor

# The colbert-ai classes whose try_load_torch_extensions compiles them (IndexScorer owns two).
OWNERS = ("colbert.search.index_storage:IndexScorer", "colbert.modeling.colbert:ColBERT",
          "colbert.search.strided_tensor:StridedTensor")


def _compile(owner: str) -> None:
    module, _, name = owner.partition(":")
    getattr(importlib.import_module(module), name).try_load_torch_extensions(use_gpu=False)


def compile_all() -> list[str]:
    with ProcessPoolExecutor(max_workers=min(len(OWNERS), os.cpu_count() or 1)) as pool:
        list(pool.map(_compile, OWNERS))
    return sorted(os.listdir(os.environ["TORCH_EXTENSIONS_DIR"]))


if __name__ == "__main__":
    if "TORCH_EXTENSIONS_DIR" not in os.environ:
        raise SystemExit("set TORCH_EXTENSIONS_DIR to the folder that keeps the compiled extensions")
    print(" ".join(compile_all()))
