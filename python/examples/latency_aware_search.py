#!/usr/bin/python3
"""Latency-aware activation search in PyTorch with polympc's performance model in the loss.

    /usr/bin/python3 python/examples/latency_aware_search.py --module-dir build/python \\
        --polympc build/apps/polympc [--lam 0.05] [--batches 300] [--phase total] \\
        [--trunc slack] [--compare fss] [--board u280] [--network lan] [--out out/search]

PASNet / PolyMPCNet's search (Peng et al., DAC'23) on the Fashion-MNIST CNN that polympc
ships (conv 5x5 -> act1 -> avgpool -> conv 5x5 -> act2 -> avgpool -> fc -> act3 -> fc):
every activation site mixes a ReLU and the polynomial s*w0*x^2 + w1*x + b through
softmax(alpha), alpha in R^2 per site; the polynomial starts at w0 = 0.005, w1 = 1, b = 0
(PASNet's straight-through initialisation). The loss is

    cross-entropy + lam * sum_sites sum_choices softmax(alpha)_choice * Lat(site, choice)

with Lat in milliseconds from `polympc_perf.latency_table` (the same modelled figures
`polympc perf` prints; --phase online | offline | total, --compare gmw | fss selects the
ReLU's protocol, --trunc the truncation). Weights and alpha have separate optimisers
(PASNet: weights SGD lr 0.025 momentum 0.9 wd 3e-4, alpha Adam lr 3e-4 wd 1e-3; --alpha-lr
raises the latter for short runs). After the search each site keeps its argmax; the
network is exported with torch.onnx.export (standard Conv/Relu/Mul/Add/AveragePool/Gemm
ops, opset 13) and run with `polympc infer` on test images, which checks that the 2PC
logits equal the fixed-point plaintext twin.

Prints one JSON object (alpha per site before and after, choices, float accuracy, modelled
latency of the chosen network, the `polympc infer` result) and writes it to OUT/search.json.
Exits 77 when torch is missing (the CTest skip code), 1 when the exported model does not
run in 2PC with agreement 1.0.
"""
import argparse
import gzip
import json
import os
import struct
import subprocess
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("latency_aware_search: python3-torch is not installed", file=sys.stderr)
    sys.exit(77)

SITES = ["act1", "act2", "act3"]  # the activation sites of the shipped CNN (models/fmnist_cnn.onnx)


def read_idx(path):
    """An MNIST-format idx file (gzipped or not) as a uint8 tensor."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def load_split(data_dir, split):
    def find(base):
        for name in (base, base + ".gz"):
            if os.path.exists(os.path.join(data_dir, name)):
                return os.path.join(data_dir, name)
        raise FileNotFoundError(f"{base}[.gz] not in {data_dir} (Debian: dataset-fashion-mnist)")
    x = read_idx(find(f"{split}-images-idx3-ubyte")).float().div(255.0).unsqueeze(1)  # as polympc: pixel / 255
    y = read_idx(find(f"{split}-labels-idx1-ubyte")).long()
    return x, y


class Poly(nn.Module):
    """s*w0*x^2 + w1*x + b with per-channel w0, w1, b (PASNet's polynomial activation)."""

    def __init__(self, shape):
        super().__init__()
        self.s = nn.Parameter(torch.tensor(1.0), requires_grad=False)
        self.w0 = nn.Parameter(torch.full(shape, 0.005))
        self.w1 = nn.Parameter(torch.ones(shape))
        self.b = nn.Parameter(torch.zeros(shape))

    def forward(self, x):
        return self.s * self.w0 * x * x + self.w1 * x + self.b


class MixedAct(nn.Module):
    """softmax(alpha)[0] * ReLU(x) + softmax(alpha)[1] * Poly(x); after the search, one of them."""

    def __init__(self, shape):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(2))
        self.poly = Poly(shape)
        self.choice = None  # "relu" or "poly" once fixed

    def forward(self, x):
        if self.choice == "relu":
            return F.relu(x)
        if self.choice == "poly":
            return self.poly(x)
        w = F.softmax(self.alpha, dim=0)
        return w[0] * F.relu(x) + w[1] * self.poly(x)


class SuperNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5)
        self.act1 = MixedAct((16, 1, 1))
        self.pool1 = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 5)
        self.act2 = MixedAct((32, 1, 1))
        self.pool2 = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(512, 128)
        self.act3 = MixedAct((128,))
        self.fc2 = nn.Linear(128, 10)

    def sites(self):
        return {"act1": self.act1, "act2": self.act2, "act3": self.act3}

    def forward(self, x):
        x = self.pool1(self.act1(self.conv1(x)))
        x = self.pool2(self.act2(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc2(self.act3(self.fc1(x)))


def site_latencies_ms(pp, args):
    """Lat(site, choice) in ms for choice in (relu, poly), from the performance model."""
    t = pp.latency_table(arch="fmnist-cnn", board=args.board, network=args.network, compare=args.compare,
                         trunc=args.trunc, phase=args.phase)
    relu = "relu-" + args.compare
    lat = {}
    for s in t["sites"]:
        if s["name"] in SITES:
            lat[s["name"]] = torch.tensor([1e3 * s["choices"][relu]["phase_latency_s"],
                                           1e3 * s["choices"]["poly"]["phase_latency_s"]])
    missing = [s for s in SITES if s not in lat]
    if missing:
        raise RuntimeError(f"the latency table has no site {missing}")
    return lat


def accuracy(net, x, y):
    net.eval()
    with torch.no_grad():
        return float((net(x).argmax(1) == y).float().mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--module-dir", required=True, help="where polympc_perf*.so is (build/python)")
    ap.add_argument("--polympc", required=True, help="the polympc binary")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--lam", type=float, default=0.05, help="weight of the latency term (per ms)")
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--alpha-lr", type=float, default=3e-4)
    ap.add_argument("--phase", default="total", choices=["online", "offline", "total"])
    ap.add_argument("--compare", default="fss", choices=["gmw", "fss"])
    ap.add_argument("--trunc", default="slack", choices=["exact", "prob", "fss", "slack"])
    ap.add_argument("--board", default="u280")
    ap.add_argument("--network", default="lan")
    ap.add_argument("--eval-images", type=int, default=2000)
    ap.add_argument("--infer-images", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="out/search")
    ap.add_argument("--expect-cheaper", action="store_true",
                    help="exit 1 unless every site's alpha moved toward its cheaper choice (a test with a large --lam)")
    args = ap.parse_args()

    sys.path.insert(0, args.module_dir)
    try:
        import polympc_perf as pp
    except ImportError:
        print(f"latency_aware_search: no polympc_perf module in {args.module_dir} "
              "(build with -DPOLYMPC_WITH_PYTHON=ON)", file=sys.stderr)
        return 77

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    x_train, y_train = load_split(args.data, "train")
    x_test, y_test = load_split(args.data, "t10k")
    lat = site_latencies_ms(pp, args)

    net = SuperNet()
    alphas = [m.alpha for m in net.sites().values()]
    weights = [p for n, p in net.named_parameters() if not n.endswith("alpha")]
    w_opt = torch.optim.SGD(weights, lr=0.025, momentum=0.9, weight_decay=3e-4)
    a_opt = torch.optim.Adam(alphas, lr=args.alpha_lr, weight_decay=1e-3)
    alpha_before = {n: m.alpha.detach().tolist() for n, m in net.sites().items()}

    net.train()
    g = torch.Generator().manual_seed(args.seed)
    for step in range(args.batches):
        idx = torch.randint(0, x_train.shape[0], (args.batch_size,), generator=g)
        logits = net(x_train[idx])
        ce = F.cross_entropy(logits, y_train[idx])
        latency = sum((F.softmax(m.alpha, dim=0) * lat[n]).sum() for n, m in net.sites().items())
        loss = ce + args.lam * latency
        w_opt.zero_grad()
        a_opt.zero_grad()
        loss.backward()
        w_opt.step()
        a_opt.step()

    alpha_after = {n: m.alpha.detach().tolist() for n, m in net.sites().items()}
    for n, m in net.sites().items():
        m.choice = "relu" if m.alpha[0] >= m.alpha[1] else "poly"
    float_acc = accuracy(net, x_test[:args.eval_images], y_test[:args.eval_images])

    onnx_path = os.path.join(args.out, "searched.onnx")
    net.eval()
    torch.onnx.export(net, x_test[:1], onnx_path, opset_version=13, input_names=["input"],
                      output_names=["logits"])
    acts = ",".join(m.choice for m in net.sites().values())
    modelled = pp.latency_table(model=onnx_path, board=args.board, network=args.network, compare=args.compare,
                                trunc=args.trunc, phase=args.phase)["total"]

    infer_json = os.path.join(args.out, "infer.json")
    subprocess.run([args.polympc, "infer", "--model", onnx_path, "--images", str(args.infer_images),
                    "--compare", args.compare, "--trunc", args.trunc, "--backend", "cpu", "--quiet",
                    "--json", infer_json], check=True, stdout=subprocess.DEVNULL)
    with open(infer_json) as f:
        run = json.load(f)

    result = {
        "lambda_per_ms": args.lam, "phase": args.phase, "compare": args.compare, "trunc": args.trunc,
        "board": args.board, "network": args.network, "batches": args.batches,
        "latency_ms": {n: v.tolist() for n, v in lat.items()},
        "alpha_before": alpha_before, "alpha_after": alpha_after, "choices": acts,
        "float_accuracy": float_acc, "eval_images": args.eval_images,
        "modelled_latency_ms": 1e3 * modelled["phase_latency_s"],
        "onnx": onnx_path,
        "infer": {k: run[k] for k in ("images", "agreement", "logits_bit_identical", "accuracy", "online_bytes",
                                      "rounds")},
    }
    with open(os.path.join(args.out, "search.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))
    ok = run["agreement"] == 1.0 and run["logits_bit_identical"] == run["images"]
    if not ok:
        print("latency_aware_search: the exported model does not equal its twin in 2PC", file=sys.stderr)
    if args.expect_cheaper:
        for n in SITES:
            cheaper = int(lat[n][1] < lat[n][0])  # 0 = relu, 1 = poly
            moved = (alpha_after[n][cheaper] - alpha_after[n][1 - cheaper]) - \
                    (alpha_before[n][cheaper] - alpha_before[n][1 - cheaper])
            if moved <= 0:
                print(f"latency_aware_search: {n}: alpha did not move toward the cheaper choice", file=sys.stderr)
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
