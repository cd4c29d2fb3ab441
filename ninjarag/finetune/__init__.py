"""Fine-tuning the local reader (issue "The paper's fine-tune"): training data by distant
supervision from packaged data (`data`), LoRA training on the CPU (`train`), and the served model
folder built from base + adapter (`merge`). `recipe` holds every knob in one TOML file."""
