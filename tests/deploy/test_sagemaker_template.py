"""The SageMaker endpoint template (sagemaker/endpoint.yaml), checked offline: cfn-lint validates it
against CloudFormation's resource specification, and its vLLM settings are the ones the generator's
Neuron config builder emits."""

import json
import re
import subprocess

import pytest
import yaml

from services.common.paths import REPO_ROOT, Home
from services.generator.neuron import NeuronServing
from services.generator.settings import DEFAULT_BUCKETS

TEMPLATE = REPO_ROOT / "sagemaker" / "endpoint.yaml"


class CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) read as their long forms."""


def _intrinsic(loader, suffix, node):  # noqa: ANN001, ANN202
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref": value} if suffix == "Ref" else {f"Fn::{suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)  # noqa: S506 (a SafeLoader subclass)


def cfn_lint(path) -> subprocess.CompletedProcess:  # noqa: ANN001
    return subprocess.run([str(Home.from_env().venv("audit") / "bin" / "cfn-lint"), str(path)],
                          capture_output=True, text=True)


def test_cfn_lint_finds_nothing_and_would_find_a_broken_copy(tmp_path):
    result = cfn_lint(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(TEMPLATE.read_text().replace("InitialInstanceCount:", "InitialInstanceCounts:", 1))
    assert cfn_lint(broken).returncode != 0


def test_the_container_gets_the_neuron_settings_the_generator_builds(template):
    parameters = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
    for model in ("BaseModel", "CandidateModel"):
        environment = template["Resources"][model]["Properties"]["PrimaryContainer"]["Environment"]
        rendered = re.sub(r"\$\{(\w+)\}", lambda m: str(parameters[m.group(1)]), environment["SM_VLLM_ADDITIONAL_CONFIG"]["Fn::Sub"])
        max_model_len = int(environment["SM_VLLM_MAX_MODEL_LEN"])
        serving = NeuronServing(REPO_ROOT, max_model_len, parameters["MaxNumSeqs"], parameters["TensorParallelSize"],
                                DEFAULT_BUCKETS, stack_name="nxdi")
        assert json.loads(rendered) == serving.additional_config(), model
        assert int(environment["SM_VLLM_BLOCK_SIZE"]) == serving.engine_kwargs()["block_size"]
        assert environment["SM_VLLM_SERVED_MODEL_NAME"] == {"Ref": "ServedModelName"}


def test_ab_mode_splits_traffic_between_two_production_variants_and_shadow_mode_copies_it(template):
    config = template["Resources"]["EndpointConfig"]["Properties"]
    shadow_production, ab_production = config["ProductionVariants"]["Fn::If"][1:]
    shadow_variants, ab_shadows = config["ShadowProductionVariants"]["Fn::If"][1:]
    assert [v["VariantName"] for v in ab_production] == ["base", "candidate"] and ab_shadows == {"Ref": "AWS::NoValue"}
    assert [v["InitialVariantWeight"] for v in ab_production] == [{"Ref": "BaseWeight"}, {"Ref": "CandidateWeight"}]
    # SageMaker's rule for shadow testing: one production variant and one shadow variant.
    assert [v["VariantName"] for v in shadow_production] == ["base"]
    assert [v["VariantName"] for v in shadow_variants] == ["candidate"]
    assert shadow_variants[0]["InitialVariantWeight"] == {"Ref": "ShadowShare"}
    parameters = template["Parameters"]
    # The same 90/10 split the Kubernetes variant component gives the gateway.
    assert (parameters["BaseWeight"]["Default"], parameters["CandidateWeight"]["Default"]) == (90, 10)
    for variant in [*shadow_production, *ab_production, *shadow_variants]:
        assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 3600  # first start compiles the buckets
    assert parameters["ServedModelName"]["Default"] == "llama-3-8b-instruct"
