"""Writes docs/config-reference.md from the config models (`make generate`); tests/test_readme.py fails when stale.

The only place that names the generator, so a move of the config package changes one import.
"""

from pathlib import Path

from gpu_node_pools.config.reference import config_reference_markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "config-reference.md"

HEADER = """\
# Config reference

Keys of `stacks/Pulumi.<stack>.yaml`, each under `gpu-node-pools:`. Generated from the config models by
`make generate`; don't edit it by hand: a test fails when this file and the code disagree.

"""


def document() -> str:
    """The whole file, as it must be committed."""
    return HEADER + config_reference_markdown().strip() + "\n"


if __name__ == "__main__":
    DOC.write_text(document())
