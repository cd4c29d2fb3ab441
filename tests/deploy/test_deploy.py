"""Deployment files, checked without a cluster or a Docker engine: every kustomize overlay renders
and validates against the Kubernetes schemas, the compose file is complete, and every environment
name they set is a setting a service reads."""

import json
import re
import subprocess

import kubernetes_validate
import pytest
import yaml

from ninjarag.finetune import neuron_train
from ninjarag.finetune.recipe import Recipe
from ninjarag.prepare import model_folders
from ninjarag.settings import StackSettings
from services.common.paths import DEFAULT_GENERATOR_MODEL, REPO_ROOT, Home
from services.gateway.settings import GatewaySettings
from services.generator.neuron import STACKS
from services.generator.settings import GeneratorSettings
from services.guard.settings import GuardSettings
from services.retriever.settings import RetrieverSettings

K8S = REPO_ROOT / "k8s"
KUBERNETES_VERSION = "1.31"
SETTINGS = {cls.model_config["env_prefix"]: cls for cls in
            (GatewaySettings, RetrieverSettings, GeneratorSettings, GuardSettings, StackSettings)}
CUSTOM_RESOURCES = {"ScaledObject"}  # KEDA: not in the Kubernetes schemas
# Read by the deployment itself (compose interpolation, Kubernetes $(VAR) expansion) to build Redis's
# command and GATEWAY_REDIS_URL, not by a service.
INFRASTRUCTURE_ONLY = {"NINJARAG_REDIS_PASSWORD"}


def render(overlay: str) -> list[dict]:
    output = subprocess.run(["kubectl", "kustomize", str(K8S / "overlays" / overlay)],
                            capture_output=True, text=True, check=True).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def _aliases() -> set[str]:
    """Names read under an alias rather than prefix + field (NINJARAG_SERVICE_TOKEN, shared by all)."""
    names = set()
    for cls in SETTINGS.values():
        for field in cls.model_fields.values():
            alias = field.validation_alias
            names |= {choice for choice in getattr(alias, "choices", [alias]) if isinstance(choice, str)}
    return names


def unknown_settings(names) -> list[str]:
    unknown, aliases = [], _aliases()
    for name in names:
        if name in aliases:
            continue
        prefix = next((p for p in SETTINGS if name.startswith(p)), None)
        if prefix is None or name[len(prefix):].lower() not in SETTINGS[prefix].model_fields:
            unknown.append(name)
    return unknown


@pytest.mark.parametrize("overlay", ["local-cpu", "eks-inf2", "eks-trn2", "local-cpu-variants"])
def test_overlay_renders_and_validates(overlay):
    objects = render(overlay)
    kinds = {obj["kind"] for obj in objects}
    assert {"Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "NetworkPolicy", "StatefulSet",
            "HorizontalPodAutoscaler", "Job"} <= kinds
    for obj in objects:
        if obj["kind"] in CUSTOM_RESOURCES:
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)  # raises with the path on error


@pytest.mark.parametrize("overlay", ["local-cpu", "eks-inf2", "eks-trn2", "local-cpu-variants"])
def test_probes_match_the_health_endpoints(overlay):
    for obj in render(overlay):
        if obj["kind"] != "Deployment":
            continue
        container = obj["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["requests"] and container["resources"]["limits"]


def test_only_the_gateway_is_reachable_from_outside_and_egress_is_denied_by_default():
    policies = [obj for obj in render("eks-inf2") if obj["kind"] == "NetworkPolicy"]
    deny = next(p for p in policies if p["metadata"]["name"] == "default-deny")
    assert deny["spec"]["podSelector"] == {} and set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
    open_to_all = [p for p in policies if any("from" not in rule for rule in p["spec"].get("ingress", []))]
    assert [p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for p in open_to_all] == ["gateway"]


def test_monitoring_reaches_the_metrics_port_and_nothing_else():
    objects = render("eks-inf2")
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            if any("namespaceSelector" in peer for peer in rule.get("from", [])):
                assert rule["ports"] == [{"port": 9090}], policy["metadata"]["name"]
    config = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "ninjarag-config")
    assert all(config["data"][f"{svc}_METRICS_PORT"] == "9090" for svc in ("GATEWAY", "RETRIEVER", "GENERATOR", "GUARD"))


def pod_specs(objects):
    for obj in objects:
        if obj["kind"] in {"Deployment", "StatefulSet", "Job"}:
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]


@pytest.mark.parametrize("overlay", ["local-cpu", "eks-inf2", "eks-trn2", "trn1-finetune", "local-cpu-variants"])
def test_every_workload_meets_the_restricted_pod_security_standard(overlay):
    for name, spec in pod_specs(render(overlay)):
        assert spec["automountServiceAccountToken"] is False, name
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] >= 10000, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"] + spec.get("initContainers", []):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert context["capabilities"] == {"drop": ["ALL"]}, (name, container["name"])
            assert not container["image"].endswith(":latest") and ":" in container["image"], container["image"]


@pytest.mark.parametrize("overlay", ["local-cpu", "eks-inf2", "eks-trn2", "local-cpu-variants"])
def test_only_the_prepare_job_writes_the_data_volume(overlay):
    for name, spec in pod_specs(render(overlay)):
        data = [v for v in spec.get("volumes", []) if v.get("persistentVolumeClaim", {}).get("claimName") == "ninjarag-data"]
        if name == "ninjarag-prepare" or not data:
            continue
        assert data[0]["persistentVolumeClaim"]["readOnly"] is True, name
        for container in spec["containers"]:
            assert all(m["readOnly"] for m in container.get("volumeMounts", []) if m["name"] == "data"), name


def test_redis_has_a_password_persistence_and_an_eviction_policy_that_spares_keys():
    objects = render("eks-inf2")
    redis = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "redis")
    container = redis["spec"]["template"]["spec"]["containers"][0]
    command = " ".join(container["args"])
    assert "--requirepass" in command and "--appendonly yes" in command
    assert "--maxmemory-policy volatile-lru" in command  # API keys carry no TTL, so they are never evicted
    assert container["env"][0]["valueFrom"]["secretKeyRef"]["key"] == "NINJARAG_REDIS_PASSWORD"
    gateway = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "gateway")
    env = {e["name"]: e for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["GATEWAY_REDIS_URL"]["value"] == "redis://:$(NINJARAG_REDIS_PASSWORD)@redis:6379/0"


def test_replicas_spread_across_nodes():
    for obj in render("eks-inf2"):
        if obj["kind"] == "Deployment":
            spread = obj["spec"]["template"]["spec"]["topologySpreadConstraints"]
            assert spread[0]["topologyKey"] == "kubernetes.io/hostname", obj["metadata"]["name"]


@pytest.mark.parametrize("overlay", ["local-cpu", "eks-inf2", "trn1-finetune"])
def test_checkov_finds_no_failed_check_and_every_skip_is_justified(overlay, tmp_path):
    rendered = tmp_path / f"{overlay}.yaml"
    objects = render(overlay)
    rendered.write_text(yaml.safe_dump_all(objects))
    checkov = Home.from_env().venv("audit") / "bin" / "checkov"
    result = subprocess.run([str(checkov), "-f", str(rendered), "--framework", "kubernetes", "--output", "json",
                             "--skip-download", "--quiet"], capture_output=True, text=True, check=False, timeout=300)
    report = json.loads(result.stdout)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [], failed
    assert report["summary"]["passed"] > (50 if overlay == "trn1-finetune" else 400)
    for obj in objects:
        for key, value in obj["metadata"].get("annotations", {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                assert check.startswith("CKV_K8S_") and len(reason) > 20, (obj["metadata"]["name"], value)


@pytest.mark.parametrize(("overlay", "family", "stack"), [("eks-inf2", "inf2", "nxdi"), ("eks-trn2", "trn2", "native")])
def test_neuron_overlays_put_the_generator_on_neuron_nodes_with_a_stack_that_runs_there(overlay, family, stack):
    objects = render(overlay)
    generator = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "generator")
    spec = generator["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["resources"]["limits"]["aws.amazon.com/neuron"] == "1"
    assert {"key": "aws.amazon.com/neuron", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert spec["nodeSelector"] == {"eks.amazonaws.com/instance-family": family}
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] >= 1800
    assert "/neuron-cache" in [m["mountPath"] for m in container["volumeMounts"]]
    neuron = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "generator-neuron-config")
    settings = GeneratorSettings(**{k.removeprefix("GENERATOR_").lower(): v for k, v in neuron["data"].items()
                                    if k != "GENERATOR_BUCKETS"}, buckets=yaml.safe_load(neuron["data"]["GENERATOR_BUCKETS"]))
    assert settings.device == "neuron" and settings.buckets[-1] == settings.max_model_len
    # The stack runs on the overlay's instances, and the image is the one built on that stack's SDK.
    target = STACKS[settings.neuron_stack]
    assert settings.neuron_stack == stack and family in target.instance_families
    assert container["image"].endswith(f"generator-neuron:0.1.0-sdk{target.sdk}")
    assert f"sdk{target.sdk}" in target.base_image
    assert str(settings.neuron_compiled_artifacts).startswith("/neuron-cache/")
    scaler = next(o for o in objects if o["kind"] == "ScaledObject")
    assert "ninjarag_generator_requests_admitted" in scaler["spec"]["triggers"][0]["metadata"]["query"]


def test_trn1_finetune_job_validates_and_matches_its_recipe():
    objects = render("trn1-finetune")
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    job = next(o for o in objects if o["kind"] == "Job")
    spec = job["spec"]["template"]["spec"]
    train, data = spec["containers"][0], spec["initContainers"][0]
    recipe_path = train["command"][train["command"].index("--recipe") + 1]
    assert data["command"][data["command"].index("--recipe") + 1] == recipe_path
    recipe = Recipe.load(REPO_ROOT / recipe_path)
    neuron = recipe.neuron
    assert int(train["command"][train["command"].index("--nproc_per_node") + 1]) == neuron.neuron_cores
    assert train["resources"]["limits"]["aws.amazon.com/neuron"] == str(neuron.neuron_cores // 2)  # 2 cores per trn1 chip
    assert spec["nodeSelector"] == {"node.kubernetes.io/instance-type": neuron.instance_type}
    assert {"name": "NEURON_COMPILE_CACHE_URL", "value": "/neuron-cache"} in train["env"]
    assert "/neuron-cache" in [m["mountPath"] for m in train["volumeMounts"]]
    assert recipe.name in train["command"][train["command"].index("--data") + 1]
    arguments = neuron_train.training_arguments(recipe, REPO_ROOT / "out")
    assert arguments["tensor_parallel_size"] * arguments["pipeline_parallel_size"] * neuron.data_parallel_size == 32
    assert arguments["completion_only_loss"] is True and arguments["max_length"] >= 4096


@pytest.mark.parametrize("overlay", ["local-cpu", "eks-inf2", "eks-trn2", "local-cpu-variants"])
def test_configmap_names_are_settings_the_services_read(overlay):
    for obj in render(overlay):
        if obj["kind"] in {"ConfigMap", "Secret"}:
            names = set(obj.get("data", {})) | set(obj.get("stringData", {}))
            assert unknown_settings(names - INFRASTRUCTURE_ONLY) == [], obj["metadata"]["name"]


def test_the_variant_component_runs_a_second_generator_the_gateway_routes_to():
    objects = render("local-cpu-variants")
    by_kind_name = {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}
    tuned = by_kind_name[("Deployment", "generator-tuned")]
    base = by_kind_name[("Deployment", "generator")]
    assert tuned["spec"]["selector"] != base["spec"]["selector"]  # no pod is claimed by both
    assert {"name": "GENERATOR_MODEL", "value": "smollm2-135m-nq-v3"} in tuned["spec"]["template"]["spec"]["containers"][0]["env"]
    assert by_kind_name[("Service", "generator-tuned")]["spec"]["selector"] == tuned["spec"]["template"]["metadata"]["labels"]
    variants = json.loads(by_kind_name[("ConfigMap", "ninjarag-config")]["data"]["GATEWAY_VARIANTS"])
    settings = GatewaySettings(variants=variants)
    assert [(v.name, v.generator_url, v.weight) for v in settings.variants] == [
        ("base", "http://generator:8002", 90), ("tuned", "http://generator-tuned:8002", 10)]
    for policy in ("backends-from-gateway", "metrics-from-monitoring"):
        selector = by_kind_name[("NetworkPolicy", policy)]["spec"]["podSelector"]["matchExpressions"][0]
        assert "generator-tuned" in selector["values"], policy
    egress = by_kind_name[("NetworkPolicy", "gateway-to-backends")]["spec"]["egress"][0]["to"][0]["podSelector"]
    assert "generator-tuned" in egress["matchExpressions"][0]["values"]


def _init_models(command: list[str]) -> list[str]:
    """The models a `python -m ninjarag.prepare.model_folders NAME ...` init step builds besides the served one."""
    assert command[:3] == ["python", "-m", "ninjarag.prepare.model_folders"]
    names = command[3:]
    for name in names:
        model_folders.base_of(name)  # a packaged model or a committed fine-tune of one
    return names


def test_the_init_steps_build_every_model_a_generator_serves():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
    built = {DEFAULT_GENERATOR_MODEL, *_init_models(compose["init-generator-model"]["command"])}
    for name in ("generator", "generator-tuned"):
        assert compose[name].get("environment", {}).get("GENERATOR_MODEL", DEFAULT_GENERATOR_MODEL) in built, name
    objects = render("local-cpu-variants")
    job = next(obj for obj in objects if obj["kind"] == "Job" and obj["metadata"]["name"] == "ninjarag-prepare")
    init = {c["name"]: c for c in job["spec"]["template"]["spec"]["initContainers"]}
    built = {DEFAULT_GENERATOR_MODEL, *_init_models(init["generator-model"]["command"])}
    for obj in objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].startswith("generator"):
            env = {e["name"]: e.get("value") for e in obj["spec"]["template"]["spec"]["containers"][0].get("env", [])}
            assert env.get("GENERATOR_MODEL", DEFAULT_GENERATOR_MODEL) in built, obj["metadata"]["name"]


def test_compose_services_have_a_build_context_a_healthcheck_and_known_settings():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    dockerfile = (REPO_ROOT / "docker" / "Dockerfile").read_text()
    targets = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.MULTILINE))
    published = []
    for name, service in compose["services"].items():
        assert "healthcheck" in service, name
        if "build" in service:
            assert (REPO_ROOT / service["build"]["context"]).is_dir()
            assert (REPO_ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
            assert service["build"]["target"] in targets, name
        published += [name] * len(service.get("ports", []))
    assert published == ["gateway"]
    env_names = [line.split("=", 1)[0] for line in (REPO_ROOT / ".env.example").read_text().splitlines()
                 if line and not line.startswith("#")]
    assert env_names and unknown_settings(set(env_names) - INFRASTRUCTURE_ONLY) == []
    assert all(service.get("restart") == "unless-stopped" for name, service in compose["services"].items()
               if not name.startswith("init-")), "a crashed service must come back by itself"
    assert compose["services"]["generator-tuned"]["profiles"] == ["variants"]  # only when a variant is wanted
    for name in ("retriever", "generator", "generator-tuned", "guard"):  # the prepared data is never written by a service
        assert compose["services"][name]["volumes"][0] == "ninjarag-data:/data:ro", name
    # Ingested collections are the retriever's own, on a volume of their own that outlives the container.
    assert compose["services"]["retriever"]["volumes"][1:] == ["collections:/collections"]
    assert compose["services"]["retriever"]["environment"]["RETRIEVER_COLLECTIONS_ROOT"] == "/collections"
    assert "collections" in compose["volumes"]


def test_unknown_setting_names_are_caught():
    assert unknown_settings(["GATEWAY_REDIS_URL", "GATEWAY_REDIS_URI", "NOPE_X"]) == ["GATEWAY_REDIS_URI", "NOPE_X"]


def test_each_service_image_installs_only_its_extra():
    dockerfile = (REPO_ROOT / "docker" / "Dockerfile").read_text()
    # The generator image also builds model folders in its init job (ninjarag/prepare/model_folders.py):
    # peft merges committed LoRA adapters (the finetune extra).
    extras = {"gateway": "gateway", "retriever": "retriever", "generator": "generator,finetune", "guard": "guard"}
    for service, extra in extras.items():
        stage = dockerfile.split(f"AS build-{service}\n", 1)[1].split("\nFROM ", 1)[0]
        assert f'".[{extra}]"' in stage
    gateway_stage = dockerfile.split("AS build-gateway\n", 1)[1].split("\nFROM ", 1)[0]
    assert "torch" not in gateway_stage
    assert "USER ninjarag" in dockerfile and dockerfile.count("HEALTHCHECK") == 4
