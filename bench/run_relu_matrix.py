#!/usr/bin/env python3
"""Runs `polympc bench relu` for the matrix of issue #3 and compares with the peers.

    bench/run_relu_matrix.py --polympc build/apps/polympc [--n 1048576] [--out DIR]
                             [--transports tcp,inproc] [--repeats 3] [--relu-bits 8:32]

For each protocol (gmw, fss), ring (l = 32, 64) and transport it runs one thread per
party (the cpu backend with --threads 1), writes DIR/relu_<protocol>_<bits>_<transport>.json
(the JSON of `polympc bench relu`) and prints a table next to the reference systems the
issue quotes for this class of machine (2 cores, one thread per party, loopback,
2^20 ReLUs): EzPC SCI, Cheetah and CrypTen. --relu-bits adds the reduced-bit variant.
Exits 1 when a run fails or its output differs from the plaintext twin.
"""
import argparse
import json
import os
import subprocess
import sys

# (ReLU/s, bytes on the wire per ReLU for both parties, rounds), from issue #3.
PEERS = {
    64: [("EzPC SCI", 47000, 1105, 5), ("Cheetah", 39000, 107, 14), ("CrypTen (dealer, GMW)", 654000, 928, 9)],
    32: [("EzPC SCI", 82000, 531, None), ("Cheetah", 85000, 52, None)],
}


def run(polympc, protocol, bits, transport, n, repeats, relu_bits, out_dir):
    name = f"relu_{protocol}_{bits}_{transport}" + (f"_bits{relu_bits.replace(':', '-')}" if relu_bits else "")
    path = os.path.join(out_dir, name + ".json")
    cmd = [polympc, "bench", "relu", "--compare", protocol, "--bits", str(bits), "--n", str(n),
           "--transport", transport, "--threads", "1", "--repeats", str(repeats), "--json", path, "--quiet"]
    if relu_bits:
        cmd += ["--relu-bits", relu_bits]
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--polympc", default="build/apps/polympc")
    ap.add_argument("--n", type=int, default=1 << 20)
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--transports", default="tcp,inproc")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--relu-bits", default="", help="also run the reduced-bit variant LO:HI")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows = []
    try:
        for transport in a.transports.split(","):
            for bits in (64, 32):
                for protocol in ("gmw", "fss"):
                    rows.append(run(a.polympc, protocol, bits, transport, a.n, a.repeats, "", a.out))
                    if a.relu_bits:
                        rows.append(run(a.polympc, protocol, bits, transport, a.n, a.repeats, a.relu_bits, a.out))
    except subprocess.CalledProcessError as e:
        print(f"run failed: {e}", file=sys.stderr)
        return 1
    print(f"| system | l | bits compared | transport | ReLU/s | online B/ReLU (both) | rounds | offline B/ReLU | AES/DReLU | AES limit |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        aes = r.get("aes_blocks_per_drelu", "")
        frac = f"{100 * r['aes_limit_fraction']:.1f} %" if "aes_limit_fraction" in r else ""
        print(f"| polympc {r['protocol']} | {r['bits']} | {r['compare_bits']} | {r['transport']} | "
              f"{r['relu_per_second']:,.0f} | {r['online_bytes_per_relu']:.2f} | {r['rounds']} | "
              f"{r['offline_bytes_per_relu']:.0f} | {aes} | {frac} |")
    for bits in (64, 32):
        for name, rate, wire, rounds in PEERS[bits]:
            print(f"| {name} | {bits} | full | loopback | {rate:,} | {wire} | {rounds if rounds else '?'} | | | |")
    with open(os.path.join(a.out, "relu_matrix.json"), "w") as f:
        json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
