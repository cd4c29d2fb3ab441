"""The README's configuration table names every setting, and its quickstart is what CI runs."""

import re

import pytest
from pydantic_settings import BaseSettings

from ninjarag.settings import StackSettings
from services.common.paths import REPO_ROOT
from services.common.settings import ComputeSettings
from services.gateway.policy import AnswerPolicySettings
from services.gateway.settings import GatewaySettings
from services.generator.settings import GeneratorSettings
from services.guard.settings import GuardSettings
from services.retriever.settings import RetrieverSettings

README = (REPO_ROOT / "README.md").read_text()
SHARED_FIELDS = set(ComputeSettings.model_fields)


@pytest.mark.parametrize("settings", [StackSettings, GatewaySettings, AnswerPolicySettings, RetrieverSettings,
                                      GeneratorSettings, GuardSettings])
def test_every_setting_has_a_row_in_the_configuration_table(settings):
    prefix = settings.model_config["env_prefix"]
    missing = []
    for name, field in settings.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
            continue  # settings of their own, with their own prefix and rows
        aliases = getattr(field.validation_alias, "choices", [])
        row = (f"`{aliases[0]}`" if aliases else f"`<SERVICE>_{name.upper()}`" if name in SHARED_FIELDS
               else f"`{prefix}{name.upper()}`")
        if f"| {row} |" not in README:
            missing.append(row)
    assert missing == []


def test_ci_runs_the_readme_test_command():
    quickstart = re.search(r"## Quickstart.*?```bash\n(.*?)```", README, re.S).group(1).splitlines()
    test_command = quickstart[1].split("#")[0].strip()
    assert test_command == "bin/ninjarag test"
    assert f"exec {test_command}" in (REPO_ROOT / ".ci" / "run").read_text()
