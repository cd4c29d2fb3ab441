"""Compile colbert-ai's four C++ extensions into TORCH_EXTENSIONS_DIR ahead of time.

They JIT-compile on first use (~135 s here); `ninjarag prepare` runs this once so that no
request, test or container start pays for it:
    TORCH_EXTENSIONS_DIR=DIR python -m services.retriever.extensions
"""

from __future__ import annotations

import os


def compile_all() -> list[str]:
    from colbert.modeling.colbert import ColBERT
    from colbert.search.index_storage import IndexScorer
    from colbert.search.strided_tensor import StridedTensor

    ColBERT.try_load_torch_extensions(use_gpu=False)
    IndexScorer.try_load_torch_extensions(use_gpu=False)
    StridedTensor.try_load_torch_extensions(use_gpu=False)
    return sorted(os.listdir(os.environ["TORCH_EXTENSIONS_DIR"]))


if __name__ == "__main__":
    if "TORCH_EXTENSIONS_DIR" not in os.environ:
        raise SystemExit("set TORCH_EXTENSIONS_DIR to the folder that keeps the compiled extensions")
    print(" ".join(compile_all()))
