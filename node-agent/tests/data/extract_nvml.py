"""Regenerates nvml_prototypes.h and nvml_driver_symbols.json from a checkout of NVIDIA/go-nvml.

Run inside that checkout: python3 extract_nvml.py DEST_DIR (git history of pkg/nvml/nvml.h is read)."""
import json, re, subprocess, sys
SYMS = """nvmlInitWithFlags nvmlInit_v2 nvmlShutdown nvmlSystemGetDriverVersion nvmlSystemGetCudaDriverVersion
nvmlDeviceGetCount_v2 nvmlDeviceGetHandleByIndex_v2 nvmlDeviceGetIndex nvmlDeviceGetUUID nvmlDeviceGetName
nvmlDeviceGetPciInfo_v3 nvmlDeviceGetMemoryInfo nvmlDeviceGetMemoryInfo_v2 nvmlDeviceGetUtilizationRates
nvmlDeviceGetSamples nvmlDeviceGetTemperature nvmlDeviceGetPowerUsage nvmlDeviceGetEnforcedPowerLimit
nvmlDeviceGetMigMode nvmlDeviceGetCudaComputeCapability nvmlDeviceGetMaxMigDeviceCount
nvmlDeviceGetMigDeviceHandleByIndex nvmlDeviceGetGpuInstanceId nvmlDeviceGetComputeInstanceId
nvmlDeviceIsMigDeviceHandle nvmlDeviceGetDeviceHandleFromMigDeviceHandle nvmlDeviceGetTotalEccErrors
nvmlDeviceGetRemappedRows nvmlDeviceGetCurrentClocksEventReasons nvmlDeviceGetCurrentClocksThrottleReasons
nvmlEventSetCreate nvmlDeviceRegisterEvents nvmlEventSetWait_v2 nvmlEventSetFree""".split()
PROTO = re.compile(r"nvmlReturn_t\s+DECLDIR\s+(\w+)\s*\(([^;]*?)\)\s*;", re.S)
def protos(commit):
    text = subprocess.run(["git", "show", f"{commit}:pkg/nvml/nvml.h"], capture_output=True, text=True, check=True).stdout
    return {m.group(1): " ".join(m.group(2).split()) for m in PROTO.finditer(text)}
head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
latest = protos("HEAD")
lines = [
 "/* Prototypes of the libnvidia-ml functions that gpu_node_agent/fakenvml.py emulates, copied verbatim",
 f" * (whitespace joined) from nvml.h as vendored by NVIDIA/go-nvml, pkg/nvml/nvml.h at commit {head}",
 " * (\"sync nvml.h with CUDA version 13.3\"). Regenerate with node-agent/tests/data/extract_nvml.py. */",
]
for s in SYMS:
    lines.append(f"nvmlReturn_t DECLDIR {s}({latest[s]});")
open(sys.argv[1] + "/nvml_prototypes.h", "w").write("\n".join(lines) + "\n")
# Driver branch -> go-nvml commit whose nvml.h is that branch's CUDA release.
BRANCHES = {"525": ("c892d99", "12.0"), "535": ("075f45f", "12.2"), "550": ("f7ceebd", "12.4"), "570": ("f420a32", "12.8")}
avail = {"source": f"NVIDIA/go-nvml pkg/nvml/nvml.h history; HEAD {head}", "drivers": {}}
for drv, (commit, cuda) in BRANCHES.items():
    found = protos(commit)
    full = subprocess.run(["git", "rev-parse", commit], capture_output=True, text=True).stdout.strip()
    avail["drivers"][drv] = {"cuda": cuda, "commit": full, "missing": sorted(s for s in SYMS if s not in found)}
open(sys.argv[1] + "/nvml_driver_symbols.json", "w").write(json.dumps(avail, indent=2) + "\n")
