// The public architecture file (docs/design.md §1, §13): what the client (P1) and the dealer
// read instead of the ONNX model. It holds the architecture of a network (input shape,
// layers, their shapes and options) and two hashes, and never a parameter value: only the
// server (P0) holds the weights.
//
// The file is JSON (format "polympc-arch", version 1):
//
//   {
//     "format": "polympc-arch",
//     "version": 1,
//     "architecture_hash": "<64 hex digits>",
//     "model_hash": "<64 hex digits>",
//     "input_shape": [C, H, W] or [F],        (without the batch dimension)
//     "fixed_point": {"bits": l, "frac": f, "coef_frac": c},   (optional: the fixed point
//                    the model was made for, Network::fixed_point; 0 / 0 / -1 = unset)
//     "layers": [ one object per layer, in execution order:
//       {"name": "conv1", "op": "Conv", "inputs": [-1], "weight_shape": [16, 1, 5, 5],
//        "bias_size": 16, "kernel": [kh, kw], "stride": [sh, sw],
//        "pads": [top, left, bottom, right], "poly_sizes": [|a2|, |a1|, |a0|],
//        "out_shape": [16, 24, 24]}, ... ]
//   }
//
// "op" is an op_name() ("Conv", "Linear", "Relu", "Poly", "AvgPool", "MaxPool",
// "GlobalAvgPool", "Flatten", "Add"); "inputs" are the producers with the default resolved
// (-1 = network input, else an earlier layer's index); every field is present for every
// layer, plus "patches" on a BlockRelu layer (one patch name per channel) and, on a Conv
// layer in Winograd form only, "winograd": 2 or 4 (F(2x2,3x3) or F(4x4,3x3); absent = the
// direct form; docs/winograd.md). The network's own name is not part of the file nor of the hashes: it changes no
// computation (layer names are kept: protocol tags and per-layer options use them).
//
// Hashes (lowercase hex SHA-256):
//  * architecture hash = SHA-256 of the canonical serialization below, of the network as
//    Network::infer_shapes() leaves it (Conv kernel taken from the weight shape, out_shape
//    filled). All integers little-endian; str(s) = u64 byte length || bytes:
//      "polympc-arch-v1" (15 bytes)
//      || u64 rank(input_shape) || i64 each dimension
//      || u64 number of layers
//      || per layer: str(op_name) || str(name)
//                    || u64 number of producers || i64 each producer (resolved, -1 = input)
//                    || u64 rank(weight_shape) || i64 each dimension
//                    || u64 bias size
//                    || i64 kernel_h, kernel_w, stride_h, stride_w,
//                           pad_top, pad_left, pad_bottom, pad_right
//                    || u64 |poly_a2| || u64 |poly_a1| || u64 |poly_a0|
//                    || u64 rank(out_shape) || i64 each dimension
//                    || BlockRelu only: u64 number of patches || str(each patch name)
//                    || Winograd Conv only: str("winograd") || i64 m (2 or 4)
//                    || ring_bits set only: str("ring_bits") || i64 bits
//                    || frac_bits set only: str("frac_bits") || i64 frac
//      || fixed point recorded only: str("fixed_point") || i64 bits || i64 frac || i64 coef_frac
//    Two networks that differ only in parameter values (or the network name) have the same
//    architecture hash.
//  * model hash = SHA-256 of
//      "polympc-model-v1" (16 bytes) || architecture hash (its 64 hex characters, ASCII)
//      || per layer, in order, for weight, bias, poly_a2, poly_a1, poly_a0:
//           u64 count || each value as its float32 bit pattern, u32 little-endian
//    It binds the architecture to one exact set of parameters (bit for bit). The server
//    recomputes it from its ONNX model to check that the architecture file the client and
//    the dealer use was made from that very model. It is NOT a hiding commitment: whoever
//    holds it (client, dealer) can test whether a guessed complete parameter set is the
//    model's, and learns nothing more from it; low-entropy models (e.g. weights known up to
//    a few candidates) can therefore be confirmed by a holder.
#pragma once
#include <cstdint>
#include <string>

#include "polympc/nn/ir.h"

namespace polympc::nn {

/// Version of the file format and of both hash serializations written by this polympc.
constexpr int kArchFileVersion = 1;
/// Largest architecture file load_arch() reads: 64 MiB (checked before parsing).
constexpr uint64_t kMaxArchFileBytes = uint64_t{64} << 20;
/// Most layers an architecture file may declare.
constexpr uint64_t kMaxArchLayers = 65536;
/// Most parameters (all layers) an architecture file may declare: whoever loads it holds
/// them as zeros. 2^28 floats = 1 GiB (VGG-16 has 1.4 * 10^8, ResNet-50 2.6 * 10^7).
constexpr uint64_t kMaxArchParameters = uint64_t{1} << 28;
/// Longest layer name (bytes) an architecture file may hold.
constexpr uint64_t kMaxLayerNameBytes = 1024;

/// Architecture hash of `net` (see file comment): 64 lowercase hex digits. `net` is not
/// modified (a copy is shape-inferred). Throws ModelError naming the layer when the network
/// is inconsistent (Network::infer_shapes()).
std::string architecture_hash(const Network& net);

/// Model hash of `net` (see file comment): 64 lowercase hex digits, binding the
/// architecture hash to every parameter value. Lets a holder test a guessed complete
/// parameter set and nothing more; it is not a hiding commitment. Throws ModelError when
/// the network is inconsistent.
std::string model_hash(const Network& net);

/// Writes the architecture file of `net` to `path` (JSON, see file comment): the public
/// part only, never a parameter value, plus both hashes. The file is written to a
/// temporary file next to `path`, flushed to disk and renamed over `path`, so readers see
/// the old file or the complete new one. Throws ModelError when the network is
/// inconsistent, exceeds the limits load_arch() enforces (so every written file loads), or
/// on I/O failure (message names the path and the system error).
void save_arch(const Network& net, const std::string& path);

/// An architecture file as load_arch() returns it.
struct ArchFile {
  /// The architecture: every parameter vector has its size and holds zeros (as
  /// architecture_only() gives); infer_shapes() has been applied; inputs are left empty
  /// where they are the default (as load_onnx leaves them); name is empty (not stored).
  Network arch;
  std::string architecture_hash;  ///< as stored, and equal to architecture_hash(arch)
  std::string model_hash;         ///< as stored (cannot be checked without the weights)
};

/// Reads and validates an architecture file. Refuses (ModelError naming the file, and the
/// layer and field where there is one): a file larger than kMaxArchFileBytes; text that is
/// not JSON or is nested deeper than the format; a format other than "polympc-arch" or a
/// version other than kArchFileVersion; a missing, unknown or mistyped field; any
/// parameter values ("weight", "bias", "poly_a2", ... fields); a dimension < 1, a kernel or
/// stride < 1, a negative pad, a shape or parameter count whose product exceeds
/// mpc::kMaxTensorElements (checked arithmetic, no overflow); more than kMaxArchLayers
/// layers; an unknown op; an input index that is not -1 or an earlier layer; duplicate
/// layer names; an architecture Network::infer_shapes() rejects; a stored kernel or
/// out_shape that differs from what the architecture gives; a stored architecture_hash
/// that differs from the recomputed one (modified or corrupted file).
ArchFile load_arch(const std::string& path);

}  // namespace polympc::nn
