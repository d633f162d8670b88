"""Regenerates nvml_prototypes.h and nvml_driver_symbols.json from a checkout of NVIDIA/go-nvml.

Run inside that checkout (the git history of pkg/nvml/nvml.h is read): python3 extract_nvml.py DEST_DIR
"""

import json
import re
import subprocess
import sys

# The symbols gpu_node_agent/fakenvml.py emulates (its SIGNATURES; test_fakenvml.py checks they agree).
SYMBOLS = """nvmlInitWithFlags nvmlInit_v2 nvmlShutdown nvmlSystemGetDriverVersion nvmlSystemGetCudaDriverVersion
nvmlDeviceGetCount_v2 nvmlDeviceGetHandleByIndex_v2 nvmlDeviceGetIndex nvmlDeviceGetUUID nvmlDeviceGetName
nvmlDeviceGetPciInfo_v3 nvmlDeviceGetMemoryInfo nvmlDeviceGetMemoryInfo_v2 nvmlDeviceGetUtilizationRates
nvmlDeviceGetSamples nvmlDeviceGetTemperature nvmlDeviceGetPowerUsage nvmlDeviceGetEnforcedPowerLimit
nvmlDeviceGetMigMode nvmlDeviceGetCudaComputeCapability nvmlDeviceGetMaxMigDeviceCount
nvmlDeviceGetMigDeviceHandleByIndex nvmlDeviceGetGpuInstanceId nvmlDeviceGetComputeInstanceId
nvmlDeviceIsMigDeviceHandle nvmlDeviceGetDeviceHandleFromMigDeviceHandle nvmlDeviceGetTotalEccErrors
nvmlDeviceGetRemappedRows nvmlDeviceGetCurrentClocksEventReasons nvmlDeviceGetCurrentClocksThrottleReasons
nvmlEventSetCreate nvmlDeviceRegisterEvents nvmlEventSetWait_v2 nvmlEventSetFree""".split()
# Driver branch -> the go-nvml commit whose nvml.h is that branch's CUDA release.
BRANCHES = {
    "525": ("c892d99", "12.0"),
    "535": ("075f45f", "12.2"),
    "550": ("f7ceebd", "12.4"),
    "570": ("f420a32", "12.8"),
}
PROTOTYPE = re.compile(r"nvmlReturn_t\s+DECLDIR\s+(\w+)\s*\(([^;]*?)\)\s*;", re.S)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def prototypes(commit: str) -> dict[str, str]:
    text = git("show", f"{commit}:pkg/nvml/nvml.h")
    return {m.group(1): " ".join(m.group(2).split()) for m in PROTOTYPE.finditer(text)}


def main(dest: str) -> None:
    head = git("rev-parse", "HEAD").strip()
    latest = prototypes("HEAD")
    lines = [
        "/* Prototypes of the libnvidia-ml functions that gpu_node_agent/fakenvml.py emulates, copied verbatim",
        f" * (whitespace joined) from nvml.h as vendored by NVIDIA/go-nvml, pkg/nvml/nvml.h at commit {head}",
        ' * ("sync nvml.h with CUDA version 13.3"). Regenerate with node-agent/tests/data/extract_nvml.py. */',
        *(f"nvmlReturn_t DECLDIR {s}({latest[s]});" for s in SYMBOLS),
    ]
    with open(f"{dest}/nvml_prototypes.h", "w") as out:
        out.write("\n".join(lines) + "\n")
    drivers = {}
    for branch, (commit, cuda) in BRANCHES.items():
        found = prototypes(commit)
        missing = sorted(s for s in SYMBOLS if s not in found)
        drivers[branch] = {"cuda": cuda, "commit": git("rev-parse", commit).strip(), "missing": missing}
    table = {"source": f"NVIDIA/go-nvml pkg/nvml/nvml.h history; HEAD {head}", "drivers": drivers}
    with open(f"{dest}/nvml_driver_symbols.json", "w") as out:
        out.write(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
