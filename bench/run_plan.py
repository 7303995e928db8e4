#!/usr/bin/env python3
"""Measured benefit of executing a scheduler plan's tiling (issue #12: `polympc infer --plan`).

    bench/run_plan.py --polympc build/apps/polympc [--model models/fmnist_cnn.onnx]
                      [--images 200] [--batch 8] [--link lan] [--repeats 3]
                      [--calibration FILE] [--tile-lanes 2] [--threads 0]
                      [--compare fss|gmw] [--trunc fss|slack|exact|prob] [--out DIR]

1. Without --calibration, measures this machine's cpu backend (`polympc bench calibrate`).
2. Makes a plan for it: `polympc schedule --target cpu --calibration ... --batch B
   --network LINK --tile-lanes L` (the tiling chosen for this machine, MODELLED).
3. Runs the same images under the emulated link (`polympc infer --link`) without the plan
   (untiled, no overlap) and with `--plan` (its tiles executed on L lanes), alternated
   `--repeats` times so that both see the same machine load.
Also runs the untiled command without the link ("no link"), alternated with the others: the
ratio untiled / no link is the ceiling of any overlap (a plan that hid the whole link would
reach it, no more). Prints the median online milliseconds per image of each, the ratios, the plan's
modelled per-layer milliseconds per image beside the measured ones of the plan runs
(median), and checks that every run's logits are bit-identical to the plaintext twin and
to each other. Exits 1 when a run fails or differs.

The machine is shared and noisy: quote the ratio of medians from one run of this script.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

from infer_json import infer_json


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--polympc", default="build/apps/polympc")
    ap.add_argument("--model", default="models/fmnist_cnn.onnx")
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--link", default="lan")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--calibration", default="")
    ap.add_argument("--tile-lanes", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="cpu backend threads per party (0 = half the cores each, as polympc infer)")
    ap.add_argument("--compare", default="fss", help="comparison protocol (schedule and infer)")
    ap.add_argument("--trunc", default="fss", help="truncation protocol (schedule and infer)")
    ap.add_argument("--out", default="out/plan")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    cal = a.calibration
    if not cal:
        cal = os.path.join(a.out, "calibration.json")
        subprocess.run([a.polympc, "bench", "calibrate", "--quiet", "--threads", str(a.threads), "--out", cal],
                       check=True, stdout=subprocess.DEVNULL)
    plan = os.path.join(a.out, "plan.json")
    sched = subprocess.run([a.polympc, "schedule", "--model", a.model, "--network", a.link, "--batch", str(a.batch),
                            "--target", "cpu", "--calibration", cal, "--tile-lanes", str(a.tile_lanes), "--out", plan,
                            "--compare", a.compare, "--trunc", a.trunc],
                           check=True, capture_output=True, text=True).stdout
    print("".join(line + "\n" for line in sched.splitlines() if line.startswith("  ")), end="")
    with open(plan) as f:
        p = json.load(f)
    extra = ["--batch", str(a.batch), "--link", a.link, "--threads", str(a.threads), "--compare", a.compare,
             "--trunc", a.trunc]
    runs = {"untiled": [], "plan": [], "nolink": []}
    nolink = [x for i, x in enumerate(extra) if x != "--link" and (i == 0 or extra[i - 1] != "--link")]
    for rep in range(a.repeats):
        runs["untiled"].append(infer_json(a.polympc, a.model, a.images, os.path.join(a.out, f"untiled_{rep}.json"), extra))
        runs["plan"].append(infer_json(a.polympc, a.model, a.images, os.path.join(a.out, f"plan_{rep}.json"),
                                       extra + ["--plan", plan]))
        runs["nolink"].append(infer_json(a.polympc, a.model, a.images, os.path.join(a.out, f"nolink_{rep}.json"), nolink))
    ok = True
    med = {}
    print(f"{'setting':<34} {'ms/img (median)':>16} {'runs':>24} {'bit-identical':>14}")
    for name, rs in runs.items():
        ms = [1e3 * r["seconds_per_image"] for r in rs]
        med[name] = statistics.median(ms)
        same = all(r["logits_bit_identical"] == r["images"] and r["logits"] == runs["untiled"][0]["logits"] for r in rs)
        ok = ok and same
        label = {"untiled": "untiled (no overlap)", "nolink": "untiled, no link (the floor)"}.get(
            name, f"--plan ({rs[0].get('lanes', 1)} tile lanes)")
        print(f"{label:<34} {med[name]:>16.2f} {' '.join(f'{m:.2f}' for m in ms):>24} {str(same):>14}")
    print(f"speed-up of the executed plan under {a.link}: {med['untiled'] / med['plan']:.2f}x "
          f"(median of {a.repeats}; batch {a.batch}, {a.images} images)")
    print(f"ceiling of any overlap (untiled / untiled without the link): {med['untiled'] / med['nolink']:.2f}x; "
          f"the plan hides {100 * (med['untiled'] - med['plan']) / max(1e-9, med['untiled'] - med['nolink']):.0f} % "
          f"of the link's time")
    tiles = runs["plan"][0].get("tiles", {})
    print(f"\n{'layer':<10} {'tiles':>5} {'modelled ms/img untiled (plan)':>31} {'measured ms/img (--plan)':>25}")
    measured = {}
    for r in runs["plan"]:
        for l in r["layers"]:
            measured.setdefault(l["name"], []).append(1e3 * l["seconds"])
    for l in p["layers"]:
        if l["name"] not in measured:
            continue
        print(f"{l['name']:<10} {tiles.get(l['name'], 1):>5} {1e3 * l['sequential_s'] / a.batch:>31.3f} "
              f"{statistics.median(measured[l['name']]):>25.3f}")
    print("modelled: the plan's cpu timeline from this machine's calibration (MODELLED); measured: wall time "
          "inside each layer on the slowest lane, per image (tiles of one segment overlap across layers).")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
