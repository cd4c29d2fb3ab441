"""Generator model folders under $NINJARAG_HOME/models: a packaged base joined from its data packages
and converted, or a fine-tune, its committed adapter merged onto its own base (hashes checked).

`ninjarag prepare` runs this in the generator environment, one folder per step. Containers, which have
no service environments, run it in the generator image's init step:

    python -m ninjarag.prepare.model_folders [NAME ...]

builds each named model and the served one (GENERATOR_MODEL, else the default), with their bases,
keeping folders already built. The base's packages must be installed (`ninjarag prepare --only
data-packages` does it for the served model)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ninjarag.errors import UserError
from ninjarag.prepare import generator_models
from services.common.paths import ADAPTERS_DIR, DEFAULT_GENERATOR_MODEL, Home


def adapter_folder(name: str) -> Path | None:
    adapter = ADAPTERS_DIR / name
    return adapter if (adapter / "manifest.json").is_file() else None


def base_of(name: str) -> generator_models.PackagedModel:
    """The packaged model a name is, or its adapter was trained on."""
    adapter = adapter_folder(name)
    base_name = json.loads((adapter / "manifest.json").read_text())["base_model"] if adapter else name
    if base_name not in generator_models.PACKAGED_MODELS:
        adapters = sorted(p.name for p in ADAPTERS_DIR.glob("*") if (p / "manifest.json").is_file())
        raise UserError(f"no generator model {name!r}: packaged models are {', '.join(generator_models.PACKAGED_MODELS)}; "
                        f"committed fine-tunes are {', '.join(adapters)}")
    return generator_models.PACKAGED_MODELS[base_name]


def build_base(home: Home, model: generator_models.PackagedModel) -> Path:
    from services.generator.build.convert_gguf import convert

    out, joined = home.models / model.name, home.cache / f"{model.name}.gguf"
    gguf = generator_models.join_gguf(model, home.root / "packages", joined)
    try:
        convert(gguf, out)
    finally:
        joined.unlink(missing_ok=True)  # rebuilt from the packages when needed; 0.5 GB
    return out


def build_tuned(home: Home, adapter: Path) -> Path:
    from ninjarag.finetune.merge import merge

    out = home.models / adapter.name
    merge(home.models / base_of(adapter.name).name, adapter, out)
    return out


def build(home: Home, name: str, rebuild: bool = False) -> list[Path]:
    """The model folder `name` (and its base when missing); `rebuild`: the named folder even if built."""
    base, adapter, built = base_of(name), adapter_folder(name), []
    if (adapter is None and rebuild) or not (home.models / base.name / "config.json").is_file():
        built.append(build_base(home, base))
    if adapter is not None and (rebuild or not (home.models / name / "config.json").is_file()):
        built.append(build_tuned(home, adapter))
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="models to build besides the served one")
    parser.add_argument("--only", action="store_true", help="only the named models, not the served one")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the named folders even if built")
    args = parser.parse_args(argv)
    served = [] if args.only else [os.environ.get("GENERATOR_MODEL") or DEFAULT_GENERATOR_MODEL]
    home = Home.from_env()
    try:
        for name in dict.fromkeys([*served, *args.names]):
            for folder in build(home, name, args.rebuild):
                print(f"built {folder}")
    except (UserError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
