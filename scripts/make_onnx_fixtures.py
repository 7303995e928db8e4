#!/usr/bin/python3
"""Writes the ONNX test fixtures of tests/test_onnx.cpp into tests/data/.

Run with Debian's interpreter, which has torch 1.13 and onnx 1.12:

    /usr/bin/python3 scripts/make_onnx_fixtures.py [out_dir]

Each model is exported with torch.onnx.export (opset 13, default constant folding).
Next to every <name>.onnx a <name>.ref.txt holds a fixed random input (batch 2) and
PyTorch's float output, as

    input <rank> <dims...>
    <values...>
    output <rank> <dims...>
    <values...>

so that the C++ test can check the imported IR with its own float forward pass
(the model that must be rejected, unsupported_leakyrelu, gets no reference).
"""
import os
import sys

import torch
import torch.nn as nn

OPSET = 13


class Poly(nn.Module):
    """PASNet polynomial activation y = s*w0*x^2 + w1*x + b (docs/design.md §11).

    Parameters are per channel ([C, 1, 1] for feature maps, [C] for vectors) or scalars.
    `horner` writes the same polynomial as x*(s*w0*x + w1) + b.
    """

    def __init__(self, shape, horner=False):
        super().__init__()
        self.horner = horner
        self.s = nn.Parameter(torch.tensor(0.5))
        self.w0 = nn.Parameter(0.3 * torch.randn(shape))
        self.w1 = nn.Parameter(1.0 + 0.2 * torch.randn(shape))
        self.b = nn.Parameter(0.1 * torch.randn(shape))

    def forward(self, x):
        if self.horner:
            return x * (self.s * self.w0 * x + self.w1) + self.b
        return self.s * self.w0 * x * x + self.w1 * x + self.b


def randomize_bn(bn):
    with torch.no_grad():
        bn.weight.copy_(1.0 + 0.2 * torch.randn_like(bn.weight))
        bn.bias.copy_(0.1 * torch.randn_like(bn.bias))
        bn.running_mean.copy_(0.1 * torch.randn_like(bn.running_mean))
        bn.running_var.copy_(0.5 + torch.rand_like(bn.running_var))


class CnnView(nn.Module):
    """(a) Conv-BN-poly-AvgPool-Conv-ReLU-MaxPool-view-Linear-poly-Linear, expanded poly,
    per-channel coefficients in the conv part, scalar ones in the linear part."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.act1 = Poly((4, 1, 1))
        self.pool1 = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(24, 16)
        self.act2 = Poly(())
        self.fc2 = nn.Linear(16, 5)
        randomize_bn(self.bn1)

    def forward(self, x):
        x = self.pool1(self.act1(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = x.view(x.size(0), -1)
        return self.fc2(self.act2(self.fc1(x)))


class CnnFlattenHorner(nn.Module):
    """(b) the same network with nn.Flatten, Horner-form polys (scalar coefficients in the
    conv part, per-feature [F] ones in the linear part), a strided padded conv, a
    BatchNorm1d after the first linear layer and a MatMul + Add second linear layer."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.act1 = Poly((), horner=True)
        self.pool1 = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=(1, 2))
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2, stride=1)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(12, 16)
        self.bn2 = nn.BatchNorm1d(16)
        self.act2 = Poly((16,), horner=True)
        self.w2 = nn.Parameter(0.3 * torch.randn(16, 5))
        self.b2 = nn.Parameter(0.1 * torch.randn(5))
        randomize_bn(self.bn1)
        randomize_bn(self.bn2)

    def forward(self, x):
        x = self.pool1(self.act1(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.act2(self.bn2(self.fc1(self.flatten(x))))
        return torch.matmul(x, self.w2) + self.b2


class Residual(nn.Module):
    """(d) a BatchNorm on the input (nothing to fold into: an affine poly), a bias-free
    conv with BN, AvgPool2d with padding (torch writes Pad + AveragePool), a residual Add,
    an activation written with Pow / Sub / Div, Dropout, AdaptiveAvgPool2d(1)
    (GlobalAveragePool) and torch.flatten."""

    def __init__(self):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(2)
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 1)
        self.drop = nn.Dropout(0.5)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)
        randomize_bn(self.bn0)
        randomize_bn(self.bn1)

    def forward(self, x):
        x = self.bn1(self.conv1(self.bn0(x)))
        y = torch.relu(self.conv2(self.pool(x))) + x
        y = 0.25 * y.pow(2) - y / 2 - 0.125
        y = self.drop(self.gap(y))
        return self.fc(torch.flatten(y, 1))


class Unsupported(nn.Module):
    """(c) a conv followed by LeakyReLU, which the importer must reject."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)
        self.act = nn.LeakyReLU(0.1)
        self.fc = nn.Linear(3 * 6 * 6, 4)

    def forward(self, x):
        return self.fc(torch.flatten(self.act(self.conv(x)), 1))


def write_tensor(f, t):
    t = t.detach().contiguous().view(-1).tolist()
    f.write("%s\n" % " ".join("%.9g" % v for v in t))


def export(model, name, out_dir, dynamic_batch, reference=True):
    model.eval()
    x = torch.randn(2, 2, 8, 8)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out_dir, name + ".onnx")
    dummy = x if dynamic_batch else x[:1]
    kwargs = {}
    if dynamic_batch:
        kwargs["dynamic_axes"] = {"input": {0: "N"}, "logits": {0: "N"}}
    torch.onnx.export(model, (dummy,), path, opset_version=OPSET, input_names=["input"],
                      output_names=["logits"], **kwargs)
    if not reference:
        print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))
        return
    with open(os.path.join(out_dir, name + ".ref.txt"), "w") as f:
        for tag, t in (("input", x), ("output", y)):
            f.write("%s %d %s\n" % (tag, t.dim(), " ".join(str(d) for d in t.shape)))
            write_tensor(f, t)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(1234)
    export(CnnView(), "cnn_view", out_dir, dynamic_batch=True)
    export(CnnFlattenHorner(), "cnn_flatten_horner", out_dir, dynamic_batch=False)
    export(Residual(), "residual", out_dir, dynamic_batch=True)
    export(Unsupported(), "unsupported_leakyrelu", out_dir, dynamic_batch=True,
           reference=False)


if __name__ == "__main__":
    main()
