#!/usr/bin/env python3
"""Online cost and time of the default path against the GMW-exact path (issue #9).

    bench/run_trunc_paths.py --polympc build/apps/polympc [--images 500] [--repeats 3]
                             [--model models/fmnist_cnn.onnx] [--out DIR]
                             [--baseline OTHER/polympc]

Runs `polympc infer` on the same images with the defaults (FSS truncation and comparison,
truncation placement, one-opening polynomial), with `--trunc exact --compare gmw` (the
former defaults) and with `--trunc slack` (GMW carries with the FSS bound), alternating the
paths `--repeats` times so that both see the same machine
load, and prints per path: agreement, bit-identical logits, online bytes per image (both
parties), rounds, offline bytes per image, and the median online and offline milliseconds
per image, then the ratios against the default path. --baseline adds a third path: another
build of polympc (e.g. an older commit) run with its own defaults. The machine is shared and noisy: the ratio of medians taken in
one run of this script is the figure to quote, not the absolute times.
Exits 1 when a run fails or its logits differ from the plaintext twin.
"""
import argparse
import os
import statistics
import sys

from infer_json import infer_json

PATHS = [("default (fss trunc + fss compare, placement)", None, []),
         ("gmw-exact (--trunc exact --compare gmw)", None, ["--trunc", "exact", "--compare", "gmw"]),
         ("slack (--trunc slack)", None, ["--trunc", "slack"])]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--polympc", default="build/apps/polympc")
    ap.add_argument("--model", default="models/fmnist_cnn.onnx")
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="out/trunc_paths")
    ap.add_argument("--baseline", help="another polympc binary, run with its own defaults")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    paths = list(PATHS)
    if a.baseline:
        paths.append((f"baseline ({a.baseline}, its defaults)", a.baseline, []))
    runs = {name: [] for name, _, _ in paths}
    for rep in range(a.repeats):
        for k, (name, binary, extra) in enumerate(paths):
            runs[name].append(infer_json(binary or a.polympc, a.model, a.images,
                                         os.path.join(a.out, f"path{k}_rep{rep}.json"), extra))
    ok = True
    summary = {}
    for name, rs in runs.items():
        r = rs[0]
        ms = statistics.median(x["seconds_per_image"] * 1e3 for x in rs)
        off_ms = statistics.median(x["offline_seconds"] * 1e3 / x["images"] for x in rs)
        summary[name] = (r["online_bytes"], r["rounds"], ms, r["offline_bytes_per_image"], off_ms)
        ok &= all(x["agreement"] == 1.0 and x["logits_bit_identical"] == x["images"] for x in rs)
        print(f"{name}:\n  agreement {r['agreement']:.4f}, logits bit-identical "
              f"{r['logits_bit_identical']}/{r['images']}, accuracy {100 * r['accuracy']:.2f} %\n"
              f"  online {r['online_bytes']:.0f} B per image ({r['online_bytes'] / 2**20:.3f} MiB), "
              f"{r['rounds']} rounds, median {ms:.2f} ms per image over {len(rs)} runs\n"
              f"  offline {r['offline_bytes_per_image'] / 2**20:.2f} MiB per image, median {off_ms:.2f} ms "
              f"per image (dealer)")
    values = list(summary.items())
    b0, r0, m0, o0, t0 = values[0][1]
    for name, (b1, r1, m1, o1, t1) in values[1:]:
        print(f"ratios {name.split(' (')[0]} / default: online bytes {b1 / b0:.2f}x, rounds {r1 / r0:.2f}x, "
              f"online ms {m1 / m0:.2f}x, offline bytes {o1 / o0:.2f}x, offline ms {t1 / t0:.2f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
