#!/usr/bin/env python3
"""The Python module polympc_perf imports and returns the same numbers as `polympc perf --json`.

Usage: test_perfmodel_python.py --module-dir BUILD/python --polympc BUILD/apps/polympc
Exit codes: 0 pass, 1 fail, 77 skipped (module not built / not importable with this
interpreter), as registered with CTest (SKIP_RETURN_CODE 77).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

SKIP = 77


def compare(a, b, path="$"):
    """Exact structural equality; returns a list of differences."""
    if isinstance(a, dict) and isinstance(b, dict):
        diffs = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                diffs.append(f"{path}.{k}: only in {'python' if k in a else 'cli'}")
            else:
                diffs += compare(a[k], b[k], f"{path}.{k}")
        return diffs
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} vs {len(b)}"]
        diffs = []
        for i, (x, y) in enumerate(zip(a, b)):
            diffs += compare(x, y, f"{path}[{i}]")
        return diffs
    if isinstance(a, float) or isinstance(b, float):
        return [] if float(a) == float(b) else [f"{path}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def cli_json(polympc, args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "perf.json")
        r = subprocess.run([polympc, "perf", *args, "--json", out], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"polympc perf {' '.join(args)} failed: {r.stderr.strip()}")
        with open(out) as f:
            j = json.load(f)
    j.pop("origin", None)  # the CLI adds where the network came from
    return j


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module-dir", required=True)
    ap.add_argument("--polympc", required=True)
    a = ap.parse_args()
    sys.path.insert(0, a.module_dir)
    try:
        import polympc_perf as pp
    except ImportError as e:
        print(f"SKIP: polympc_perf not built or not importable with {sys.executable} ({e}); "
              "configure with -DPOLYMPC_WITH_PYTHON=ON")
        return SKIP

    failures = []
    passed = 0

    def check(name, diffs):
        nonlocal passed
        if diffs:
            failures.append(name)
            print(f"FAIL {name}:\n  " + "\n  ".join(diffs[:20]))
        else:
            passed += 1
            print(f"ok   {name}")

    cases = [
        (dict(arch="resnet18-imagenet", acts="poly", board="u250", network="lan"),
         ["--arch", "resnet18-imagenet", "--acts", "poly", "--board", "u250", "--network", "lan"]),
        (dict(arch="fmnist-cnn", board="u280", network="wan", trunc="prob", batch=10),
         ["--arch", "fmnist-cnn", "--board", "u280", "--network", "wan", "--trunc", "prob", "--batch", "10"]),
        (dict(arch="resnet20-cifar", board="zcu104", compare="fss", lanes="matmul_combine=64"),
         ["--arch", "resnet20-cifar", "--board", "zcu104", "--compare", "fss", "--lanes", "matmul_combine=64"]),
        (dict(arch="resnet18-imagenet", acts="poly", board="u280", trunc="fss", phase="total"),
         ["--arch", "resnet18-imagenet", "--acts", "poly", "--board", "u280", "--trunc", "fss", "--phase", "total"]),
        (dict(arch="fmnist-cnn", compare="fss", phase="offline"),
         ["--arch", "fmnist-cnn", "--compare", "fss", "--phase", "offline"]),
    ]
    for kwargs, args in cases:
        py = pp.latency_table(**kwargs)
        check(f"latency_table({kwargs}) == polympc perf --json", compare(py, cli_json(a.polympc, args)))

    # layer_cost gives the site table's numbers at the same kernel configuration (a site alone
    # has no network to size kernels for: the headers' defaults), and plain Python types.
    t = pp.latency_table(arch="resnet18-imagenet", acts="poly", kernels="default")
    site = next(s for s in t["sites"] if s["name"] == "layer1.0.relu1")
    for choice in ("relu-gmw", "relu-fss", "poly", "identity"):
        c = pp.layer_cost([64, 56, 56], choice)
        want = dict(site["choices"][choice])
        got = dict(c)
        want.pop("name")
        got.pop("name")
        want.pop("op")
        got.pop("op")
        check(f"layer_cost([64,56,56], {choice!r}) == site table", compare(got, want))
    c = pp.layer_cost([64, 56, 56], "relu")
    check("plain types", [] if isinstance(c, dict) and isinstance(c["latency_s"], float)
          and isinstance(c["rounds"], int) and isinstance(c["kernels"], list) else ["not plain dict/float/int/list"])

    # The phase: every dict has all three; phase= picks phase_latency_s; total = online + offline.
    for phase in ("online", "offline", "total"):
        c = pp.layer_cost([64, 56, 56], "relu-fss", phase=phase)
        diffs = []
        if c["phase"] != phase or c["phase_latency_s"] != c["phases"][phase]["latency_s"]:
            diffs.append(f"phase {c['phase']}: {c['phase_latency_s']} vs {c['phases'][phase]['latency_s']}")
        if abs(c["phases"]["total"]["latency_s"] - c["phases"]["online"]["latency_s"]
               - c["phases"]["offline"]["latency_s"]) > 1e-12:
            diffs.append("total != online + offline")
        if c["offline_bytes"] != 64 * 56 * 56 * (1040 + 24) + 8 * ((64 * 56 * 56 + 63) // 64):
            diffs.append(f"FSS ReLU material {c['offline_bytes']}")
        if c["keygen_aes_blocks"] != 4 * 63 * 64 * 56 * 56:
            diffs.append(f"AES blocks {c['keygen_aes_blocks']}")
        check(f"layer_cost(..., phase={phase!r})", diffs)
    try:
        pp.layer_cost([8], "poly", phase="later")
        check("unknown phase raises", ["no exception"])
    except RuntimeError as e:
        check("unknown phase raises", [] if "online, offline or total" in str(e) else [str(e)])

    # Errors are exceptions with the model's message.
    try:
        pp.latency_table(arch="no-such-net")
        check("unknown arch raises", ["no exception"])
    except RuntimeError as e:
        check("unknown arch raises", [] if "resnet18-imagenet" in str(e) else [str(e)])
    try:
        pp.layer_cost([8], "poly", board="no-such-board")
        check("unknown board raises", ["no exception"])
    except RuntimeError as e:
        check("unknown board raises", [] if "u250" in str(e) else [str(e)])

    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
