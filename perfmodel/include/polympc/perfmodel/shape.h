// Layer shapes: what the performance model needs to know about a network — kinds and
// tensor shapes, no weights (docs/design.md §9). Built from an nn::Network (ONNX models) or
// from the built-in zoo of standard architectures, which also covers shapes the IR does
// not run yet (depthwise/grouped convolution in MobileNetV2, padded max pooling).
//
// Shapes are per image, without the batch dimension: [C, H, W] or [F]. Layouts NCHW.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "polympc/nn/ir.h"
#include "polympc/nn/placement.h"
#include "polympc/perfmodel/errors.h"

namespace polympc::perfmodel {

enum class LayerKind {
  Conv,           ///< 2-D convolution (groups >= 1); matmul on the input + truncation by f
  Linear,         ///< fully connected; matmul + truncation by f
  Relu,           ///< activation site, currently ReLU
  Poly,           ///< activation site, currently the polynomial
  MaxPool,        ///< pooling site, currently max
  AvgPool,        ///< pooling site, currently average
  GlobalAvgPool,  ///< mean over H, W (average of H*W windows)
  Flatten,        ///< free (local)
  Add,            ///< residual sum (local)
  BlockRelu,      ///< patch-wise ReLU (nn::OpKind::BlockRelu): one DReLU per patch
};
const char* kind_name(LayerKind k);

struct LayerShape {
  std::string name;
  LayerKind kind = LayerKind::Relu;
  /// Producers: indices into NetShape::layers, -1 = the network input; the first is the
  /// layer's input, an Add's second its residual input.
  std::vector<int> inputs;
  std::vector<int64_t> in_shape;   ///< first input, [C, H, W] or [F]
  std::vector<int64_t> out_shape;  ///< [C, H, W] or [F]
  int kernel_h = 1, kernel_w = 1;  ///< Conv, pools
  int stride_h = 1, stride_w = 1;
  int groups = 1;                  ///< Conv: Cin and Cout are multiples of groups
  /// Conv: 0 = direct (im2col), 2 or 4 = Winograd F(m×m, 3×3): priced as α² products
  /// (M × C) · (C × N·T) after the one opening of the input (docs/winograd.md)
  int winograd = 0;
  /// The layer's ring width l (nn::Layer::ring_bits, from the model; 0 = its input's);
  /// Options::layer_bits overrides it.
  int ring_bits = 0;
  /// The layer's fixed-point scale (nn::Layer::frac_bits, from the model; 0 = f): it moves
  /// the truncations (nn/placement.h), not the bytes of a gate.
  int frac_bits = 0;
  std::vector<nn::BlockPatch> block_patches;  ///< BlockRelu: one per channel
  int64_t in_elements() const;     ///< product of in_shape
  int64_t out_elements() const;    ///< product of out_shape
  bool is_activation_site() const { return kind == LayerKind::Relu || kind == LayerKind::Poly; }
  bool is_pool_site() const { return kind == LayerKind::MaxPool || kind == LayerKind::AvgPool; }
};

struct NetShape {
  std::string name;
  std::string origin;                ///< "zoo" or the ONNX file
  std::vector<int64_t> input_shape;  ///< [C, H, W]
  std::vector<LayerShape> layers;
  int64_t input_elements() const;
  int64_t classes() const;  ///< elements of the last layer's output
};

/// Shapes of an IR network (infer_shapes() must have run: throws PerfModelError when a
/// layer has no out_shape). Layer names and order are kept, so the model's per-layer rows
/// line up with `polympc infer`'s.
NetShape from_network(const nn::Network& net);
/// Loads an ONNX model (nn::load_onnx; its ModelError propagates) and takes its shapes.
NetShape load_model_shape(const std::string& onnx_path);

/// The network as the truncation placement sees it (nn/placement.h), so that the model
/// prices the very plan the executor runs. A layer without `inputs` reads the previous one.
std::vector<nn::ScaleNode> scale_nodes(const NetShape& net);

/// Names of the built-in architectures:
///   resnet18-imagenet, resnet50-imagenet (224x224x3, 1000 classes, torchvision layout,
///     BatchNorm folded), resnet18-cifar (3x3 stem, no max pool), resnet20-cifar,
///     resnet32-cifar (He et al. 2016, option-A shortcuts), mobilenetv2-imagenet
///     (Sandler et al. 2018, width 1.0; ReLU6 counted as ReLU), fmnist-cnn (the shipped
///     Fashion-MNIST CNN: activations poly, relu, poly as shipped).
std::vector<std::string> zoo_names();
/// Built-in architecture by name. Throws PerfModelError listing zoo_names() when unknown.
NetShape zoo(const std::string& name);

/// Replaces the kind of every activation site: "relu", "poly", or a comma-separated list
/// with one of relu|poly per site in order ("model" keeps them). Pool sites likewise with
/// "max" | "avg" | list | "model". Throws PerfModelError on a bad spec or count.
void set_activations(NetShape& net, const std::string& spec);
void set_pools(NetShape& net, const std::string& spec);
/// Every 3×3 stride-1 ungrouped Conv in form m (0 = direct, 2 or 4 = Winograd F(m×m, 3×3));
/// returns how many. Throws PerfModelError for another m.
int set_winograd(NetShape& net, int m);

}  // namespace polympc::perfmodel
