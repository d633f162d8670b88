"""The README stays true: its config table matches the code, and its import example runs."""

import re
import runpy
from pathlib import Path

import pulumi
from pulumi_harness import RecordingMocks

from gpu_node_pools.config.reference import config_reference_markdown

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_config_reference_table_matches_the_code() -> None:
    block = re.search(r"<!-- config-reference:start -->\n(.*?)<!-- config-reference:end -->", README, re.S)
    assert block, "README lost its config-reference markers"
    assert block.group(1).strip() == config_reference_markdown().strip(), (
        "README's config reference is stale: run `make generate`"
    )


def test_import_example_is_the_readme_example_and_declares_what_it_says(monkeypatch) -> None:
    example = ROOT / "examples" / "import" / "__main__.py"
    readme_code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    assert readme_code in example.read_text()

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="gpu-node-pools-import-example", stack="test", preview=False)
    pulumi.runtime.set_all_config({})

    @pulumi.runtime.test
    def program() -> None:
        runpy.run_path(str(example), run_name="__main__")

    program()
    types = [r.typ for r in mocks.resources]
    assert types.count("aws:eks/nodeGroup:NodeGroup") == 2
    assert types.count("kubernetes:apps/v1:DaemonSet") == 3  # platform: plugin + agent; standalone: plugin
    standalone = [r for r in mocks.resources if r.typ == "kubernetes:apps/v1:DaemonSet"
                  and "workload" in str(r.inputs["spec"]["template"]["spec"]["tolerations"])]
    assert len(standalone) == 1
