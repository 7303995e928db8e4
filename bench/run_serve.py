#!/usr/bin/env python3
"""Throughput of `polympc serve` with concurrent `polympc query` clients on loopback,
TLS 1.3 against plaintext, measured in one script (docs/deployment.md).

One server per transport; each repeat launches --clients query processes at once against
one of them, each on its own dealer run, and measures the wall time until all have
finished; the transports alternate repeat by repeat.
Reported per transport (medians over the repeats):
  * inferences/s: all clients' images / wall time of the repeat;
  * ms per inference: a client's online seconds / its images (median over the clients);
and the ratio TLS / plaintext. Material is dealt beforehand (not timed) and removed at the
end. Usage:
  bench/run_serve.py [--polympc build/apps/polympc] [--clients 4] [--images 20]
                     [--repeats 3] [--out bench-serve] [--json FILE]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--polympc", default=os.path.join(root, "build/apps/polympc"))
ap.add_argument("--model", default=os.path.join(root, "models/fmnist_cnn.onnx"))
ap.add_argument("--clients", type=int, default=4)
ap.add_argument("--images", type=int, default=20, help="images per client and repeat (one batch)")
ap.add_argument("--repeats", type=int, default=3)
ap.add_argument("--threads", type=int, default=1, help="cpu backend threads per party and query")
ap.add_argument("--out", default="bench-serve")
ap.add_argument("--json", default="")
a = ap.parse_args()

out = os.path.abspath(a.out)
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
P = a.polympc


def run(*args):
    p = subprocess.run([P, *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"polympc {' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")
    return p


subprocess.run(["bash", os.path.join(root, "scripts/make-test-ca.sh"), os.path.join(out, "tls")], check=True,
               capture_output=True)
tls = lambda who: ["--ca", f"{out}/tls/ca.pem", "--cert", f"{out}/tls/{who}.pem", "--key", f"{out}/tls/{who}.key"]
run("export-arch", "--model", a.model, "--out", f"{out}/arch.json")
threads = ["--threads", str(a.threads)]

# Deal everything first and flush it to disk, then start one server per transport and
# alternate the transports repeat by repeat, so that neither gets the quieter machine.
servers, ports, logs = {}, {}, []
for mode in ("plaintext", "tls"):
    srv, cli = f"{out}/{mode}/srv", f"{out}/{mode}/cli"
    os.makedirs(srv)
    os.makedirs(cli)
    for c in range(a.clients):  # one dealer run per client, one batch per repeat
        run("dealer", "--arch", f"{out}/arch.json", "--images", str(a.images * a.repeats), "--batch", str(a.images),
            "--p0", f"{srv}/c{c}.mat", "--p1", f"{cli}/c{c}.mat")
subprocess.run(["sync"])
transport = {"plaintext": lambda who: ["--plaintext"], "tls": tls}
for mode in ("plaintext", "tls"):
    logs.append(open(f"{out}/{mode}/server.log", "w"))
    servers[mode] = subprocess.Popen(
        [P, "serve", "--model", a.model, "--material", f"{out}/{mode}/srv", "--listen", "127.0.0.1:0",
         "--port-file", f"{out}/{mode}/port", "--ledger", f"{out}/{mode}/ledger0", "--max-clients", str(a.clients),
         *threads, *transport[mode]("server")], stdout=logs[-1], stderr=subprocess.STDOUT)
    for _ in range(300):
        if os.path.exists(f"{out}/{mode}/port"):
            break
        time.sleep(0.1)
    ports[mode] = int(open(f"{out}/{mode}/port").read())

walls = {m: [] for m in servers}
per_inference = {m: [] for m in servers}
for r in range(a.repeats):
    for mode in (("plaintext", "tls") if r % 2 == 0 else ("tls", "plaintext")):
        t0 = time.time()
        procs = [subprocess.Popen([P, "query", "--connect", f"127.0.0.1:{ports[mode]}", "--arch", f"{out}/arch.json",
                                   "--material", f"{out}/{mode}/cli/c{c}.mat", "--images", str(a.images),
                                   "--first-image", str(r * a.images), "--ledger", f"{out}/{mode}/ledger1",
                                   "--quiet", "--json", f"{out}/{mode}/q{c}_{r}.json", *threads,
                                   *transport[mode]("client")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for c in range(a.clients)]
        for p in procs:
            _, err = p.communicate()
            if p.returncode != 0:
                sys.exit(f"query failed: {err}")
        walls[mode].append(time.time() - t0)
        secs = [json.load(open(f"{out}/{mode}/q{c}_{r}.json"))["seconds"] for c in range(a.clients)]
        per_inference[mode].append(statistics.median(secs) / a.images)
for s in servers.values():
    s.terminate()
    s.wait()
results = {}
n = a.clients * a.images
for mode in servers:
    results[mode] = {
        "inferences_per_s": statistics.median(n / w for w in walls[mode]),
        "ms_per_inference": 1e3 * statistics.median(per_inference[mode]),
        "wall_s": walls[mode],
    }
    shutil.rmtree(f"{out}/{mode}/srv")
    shutil.rmtree(f"{out}/{mode}/cli")

print(f"{a.clients} concurrent clients x {a.images} images (one batch each), {a.repeats} repeats, "
      f"cpu backend with {a.threads} thread(s) per party and query, loopback")
print(f"{'transport':<10} {'inferences/s':>13} {'ms/inference':>13}")
for mode, r in results.items():
    print(f"{mode:<10} {r['inferences_per_s']:>13.1f} {r['ms_per_inference']:>13.1f}")
ratio = results["plaintext"]["inferences_per_s"] / results["tls"]["inferences_per_s"]
print(f"throughput plaintext / TLS: {ratio:.2f}x")
if a.json:
    json.dump({"clients": a.clients, "images": a.images, "repeats": a.repeats, "results": results,
               "plaintext_over_tls": ratio}, open(a.json, "w"), indent=2)
