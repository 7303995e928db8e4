#!/usr/bin/env python3
"""Measured benefit of overlapping communication with computation (issue #12, point 5).

    bench/run_overlap.py --polympc build/apps/polympc [--images 200] [--batch 50]
                         [--links lan,wan] [--workers 2] [--repeats 3] [--out DIR]

For each emulated link (a network preset of the performance model: its bandwidth and RTT,
`polympc infer --link`), runs the same images with one batch at a time (`--workers 1`: the
parties alternate computing and waiting for the link) and with `--workers N` batches whose
online phases run at the same time on their own channels and backends, sharing the link's
bandwidth (one batch's communication overlaps another's computation). The two are
alternated `--repeats` times so that both see the same machine load. Prints per link and
setting the median online milliseconds per image, the speed-up of the overlapped runs,
and checks that every run's logits are bit-identical to the plaintext twin (so the
overlapped runs equal the sequential ones). Exits 1 when a run fails or differs.

The machine is shared and noisy: quote the ratio of medians from one run of this script.
"""
import argparse
import os
import statistics
import sys

from infer_json import infer_json


def run(a, link, workers, path):
    return infer_json(a.polympc, a.model, a.images, path,
                      ["--batch", str(a.batch), "--link", link, "--workers", str(workers)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--polympc", default="build/apps/polympc")
    ap.add_argument("--model", default="models/fmnist_cnn.onnx")
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--links", default="lan,wan")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="out/overlap")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    ok = True
    print(f"{'link':<8} {'setting':<26} {'ms/img (median)':>16} {'runs':>30} {'bit-identical':>14}")
    for link in a.links.split(","):
        runs = {1: [], a.workers: []}
        for rep in range(a.repeats):
            for w in runs:
                runs[w].append(run(a, link, w, os.path.join(a.out, f"{link}_w{w}_rep{rep}.json")))
        med = {}
        for w, rs in runs.items():
            ms = [1e3 * r["seconds_per_image"] for r in rs]
            med[w] = statistics.median(ms)
            same = all(r["logits_bit_identical"] == r["images"] and r["logits"] == runs[1][0]["logits"] for r in rs)
            ok = ok and same
            label = "one batch at a time" if w == 1 else f"{w} batches overlapped"
            print(f"{link:<8} {label:<26} {med[w]:>16.2f} {' '.join(f'{m:.2f}' for m in ms):>30} {str(same):>14}")
        print(f"{link:<8} speed-up of overlap: {med[1] / med[a.workers]:.2f}x (median of {a.repeats})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
