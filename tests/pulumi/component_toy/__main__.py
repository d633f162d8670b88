"""A one-component package for the language-host tests: the smallest thing `pulumi package add` can take.

It exercises what our own package relies on (a TypedDict `args` with an Enum and an optional int, typed
Outputs) without creating any Kubernetes object, so it needs no cluster.
"""

from enum import Enum
from typing import Optional, TypedDict

import pulumi
from pulumi.provider.experimental import component_provider_host


class Tier(Enum):
    GOLD = "gold"
    SILVER = "silver"


class ShelfArgs(TypedDict):
    name: pulumi.Input[str]
    """Name of the shelf."""
    tier: pulumi.Input[Tier]
    """Service tier."""
    slots: Optional[pulumi.Input[int]]
    """Number of slots (integers arrive as floats)."""


class Shelf(pulumi.ComponentResource):
    label: pulumi.Output[str]
    slots: pulumi.Output[int]

    def __init__(self, name: str, args: ShelfArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("toy:index:Shelf", name, {}, opts)
        tier = pulumi.Output.from_input(args["tier"]).apply(lambda t: Tier(t).value)
        self.label = pulumi.Output.concat(args["name"], "/", tier)
        self.slots = pulumi.Output.from_input(args.get("slots", 1)).apply(int)
        self.register_outputs({"label": self.label, "slots": self.slots})


if __name__ == "__main__":
    component_provider_host(name="toy", components=[Shelf])
