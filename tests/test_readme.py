"""The README and docs stay true: the config reference matches the code, links lead somewhere, the example runs."""

import re
import runpy
from pathlib import Path

import pulumi
import pytest
from gpu_node_pools.mock_engine import MockEngine

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
# A Markdown link's target: a relative path, not a URL or an anchor in the same file.
LOCAL_LINK = re.compile(r"\]\((?!https?://|mailto:|#)([^)\s]+)\)")


def test_config_reference_matches_the_code() -> None:
    generator = runpy.run_path(str(ROOT / "scripts" / "config_reference.py"))
    assert generator["DOC"].read_text() == generator["document"](), (
        "docs/config-reference.md is stale: run `make generate`"
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_point_at_files_that_exist(doc: Path) -> None:
    missing = [target for target in LOCAL_LINK.findall(doc.read_text())
               if not (doc.parent / target.split("#")[0]).exists()]
    assert missing == [], f"{doc.relative_to(ROOT)} links to files that don't exist: {missing}"


def test_readme_stays_short() -> None:
    lines = README.count("\n")
    assert lines < 200, f"README.md has {lines} lines: move detail into docs/ and link it"


def test_import_example_is_the_readme_example_and_declares_what_it_says(monkeypatch) -> None:
    example = ROOT / "examples" / "import" / "__main__.py"
    readme_code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    assert readme_code in example.read_text()

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    mocks = MockEngine()
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
