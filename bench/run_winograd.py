#!/usr/bin/env python3
"""Winograd F(2x2,3x3) and F(4x4,3x3) against the direct convolution, measured (issue #13).

    bench/run_winograd.py --polympc build/apps/polympc --model models/fmnist_resnet8.onnx
                          [--images 1000] [--repeats 3] [--out DIR] [extra infer options]

Runs `polympc infer` on the same Fashion-MNIST test images with `--winograd off`, `2` and
`4`, alternating the forms `--repeats` times so that all see the same machine load, and
prints per form: the 2PC, fixed-point twin and float accuracy, the agreement and the
bit-identical logits against the twin, the online bytes per image (both parties) and
rounds, and the median online milliseconds per image; then each form's twin accuracy
against the direct form's (the acceptance: within 0.1 points) and the time ratios. The
cpu backend multiplies on the host: the device-time gain of Winograd is modelled
(`polympc perf --winograd`), not measured here. Extra arguments after `--` go to every
run (e.g. `-- --trunc fss`).
Exits 1 when a run fails, when its logits differ from its twin, or when a form's twin
accuracy differs from the direct form's by more than 0.1 points.
"""
import argparse
import os
import statistics
import sys

from infer_json import infer_json

FORMS = ["off", "2", "4"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--polympc", default="build/apps/polympc")
    ap.add_argument("--model", default="models/fmnist_resnet8.onnx")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="out/winograd")
    ap.add_argument("extra", nargs="*", help="options passed to every polympc infer run (after --)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    runs = {f: [] for f in FORMS}
    for r in range(a.repeats):
        for f in FORMS:
            path = os.path.join(a.out, f"winograd_{f}_{r}.json")
            runs[f].append(infer_json(a.polympc, a.model, a.images, path, ["--winograd", f] + a.extra))
            print(f"repeat {r + 1}/{a.repeats}, --winograd {f}: "
                  f"{1e3 * runs[f][-1]['seconds_per_image']:.2f} ms/img", file=sys.stderr)
    ok = True
    print(f"model {a.model}, {a.images} images, {a.repeats} repeats, extra {' '.join(a.extra) or '(none)'}")
    print(f"{'--winograd':>10} {'2PC %':>7} {'twin %':>7} {'float %':>7} {'agree':>6} "
          f"{'bit-id':>11} {'online B/img':>13} {'rounds':>6} {'ms/img (median)':>15}")
    med = {}
    for f in FORMS:
        j = runs[f][0]
        med[f] = statistics.median(1e3 * x["seconds_per_image"] for x in runs[f])
        same = all(x["logits_bit_identical"] == x["images"] for x in runs[f])
        ok = ok and same
        print(f"{f:>10} {100 * j['accuracy']:7.2f} {100 * j['plaintext_accuracy']:7.2f} "
              f"{100 * j['float_accuracy']:7.2f} {j['agreement']:6.4f} "
              f"{j['logits_bit_identical']:>5}/{j['images']:<5} {j['online_bytes']:13.0f} "
              f"{j['rounds']:6d} {med[f]:15.2f}")
    base = runs["off"][0]["plaintext_accuracy"]
    for f in ("2", "4"):
        d = 100 * (runs[f][0]["plaintext_accuracy"] - base)
        within = abs(d) <= 0.1 + 1e-9
        ok = ok and within
        print(f"F({f}x{f},3x3): twin accuracy {d:+.2f} points against the direct form "
              f"({'within' if within else 'NOT within'} 0.1); measured time / direct {med[f] / med['off']:.3f}")
    if not ok:
        print("FAILED: logits differ from the twin or the accuracy moved by more than 0.1 points")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
