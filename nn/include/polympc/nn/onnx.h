// ONNX import and export (docs/design.md §12), through Debian's libonnx (onnx-ml protobuf).
//
// Supported on import: Conv, Gemm (any transA=0/transB, alpha=beta=1), MatMul (+ Add of a
// constant bias), Relu, BatchNormalization (folded into the preceding Conv/Gemm, or kept
// as an affine Poly a2=0 when nothing precedes it), AveragePool, MaxPool,
// GlobalAveragePool, Flatten, Reshape to [N, -1] (incl. the Shape/Gather/Unsqueeze/Concat
// chain torch.onnx.export writes for x.view(x.size(0), -1)), Add (residual), Identity,
// Constant, Dropout (inference: identity), and the polynomial activation
// y = a2*x^2 + a1*x + a0 written with Mul/Add (expanded or Horner form, operands in either
// order, coefficients as initializers or Constant nodes, scalar or per-channel [C,1,1]).
// Anything else -> ModelError naming the node (name and op_type) and why.
//
// Export writes opset 13, input "input" [N, C, H, W] float, output "logits"; the
// polynomial as Mul(x,x) -> Mul(.,a2); Mul(x,a1); Add; Add(.,a0).
#pragma once
#include <map>
#include <string>

#include "polympc/nn/ir.h"

namespace polympc::nn {

/// Reads an ONNX file. Throws ModelError (file unreadable / not ONNX / unsupported node,
/// message names the node). The result has infer_shapes() applied.
///
/// Every size in the file is checked before it is used: tensor dims must be >= 0 with at
/// most mpc::kMaxTensorElements (2^31) elements, raw_data byte counts and
/// float_data / int64_data / ... value counts must equal what the dims need, Reshape
/// targets, Gather indices and Unsqueeze axes must be in range, kernel_shape / strides
/// must be >= 1 and pads >= 0 (all <= INT_MAX), and integer constant folding must not
/// overflow int64. Violations throw ModelError naming the node (and initializer) and the
/// field, e.g. "m.onnx: node 'fc' (Gemm): initializer 'W' dims [4294967296, 4294967296]:
/// size 4294967296 x 4294967296 exceeds the limit of 2147483648".
Network load_onnx(const std::string& path);
/// Parses ONNX bytes (same rules as load_onnx; `origin` names the source in errors).
Network parse_onnx(const std::string& bytes, const std::string& origin = "<memory>");
/// Writes `net` as ONNX (see file comment). Throws ModelError on I/O failure.
void save_onnx(const Network& net, const std::string& path);
/// As save_onnx, with `metadata` written as the model's metadata_props (ONNX
/// ModelProto.metadata_props, key -> value; e.g. the search's lambda, protocol, board,
/// chosen activations and modelled latency). Readers that do not know the keys ignore them.
void save_onnx(const Network& net, const std::string& path,
               const std::map<std::string, std::string>& metadata);
/// The metadata_props of an ONNX file (empty when it has none). Throws ModelError when
/// the file cannot be read or parsed.
std::map<std::string, std::string> onnx_metadata(const std::string& path);

}  // namespace polympc::nn
