"""The converted SmolLM2 folder: loads with transformers, renders its chat template, generates."""

import json

import pytest
from services.generator.model_folder import load_tokenizer


@pytest.fixture(scope="module")
def model_path(home):
    return home.small_model


def test_folder_is_a_plain_llama_checkpoint(model_path):
    config = json.loads((model_path / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert "quantization_config" not in config
    assert (model_path / "model.safetensors").stat().st_size > 500_000_000  # fp32, dequantised


def test_chat_template_renders_the_conversation(model_path):
    tokenizer = load_tokenizer(model_path)
    prompt = tokenizer.apply_chat_template(
        [{"role": "system", "content": "Cite passages."}, {"role": "user", "content": "Who wrote Hamlet?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert "<|im_start|>system\nCite passages.<|im_end|>" in prompt
    assert "<|im_start|>user\nWho wrote Hamlet?<|im_end|>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


def test_weights_load_and_generate_text(model_path):
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}], add_generation_prompt=True, return_tensors="pt"
    )
    input_ids = ids["input_ids"] if hasattr(ids, "keys") else ids
    with torch.no_grad():
        output = model.generate(input_ids, max_new_tokens=12, do_sample=False)
    answer = tokenizer.decode(output[0, input_ids.shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer


def test_missing_folder_says_to_prepare(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `ninjarag prepare`"):
        load_tokenizer(tmp_path / "nothing")


def test_the_generator_environment_imports_vllm():
    import transformers
    import vllm  # noqa: F401 - fails when CUDA torchvision is left installed

    major, minor = map(int, transformers.__version__.split(".")[:2])
    assert (major, minor) >= (5, 16)
