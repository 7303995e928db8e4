// Private inference of a data set with both parties in one process (two threads over the
// in-process channel), the dealer running before each batch. Compares the 2PC logits
// (or, with Reveal::Label, the 2PC labels) with the fixed-point plaintext twin and the
// float model. Used by `polympc infer` and by the end-to-end tests.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "polympc/mpc/backend.h"
#include "polympc/mpc/link.h"
#include "polympc/mpc/session.h"
#include "polympc/nn/dataset.h"
#include "polympc/nn/quantize.h"
#include "polympc/nn/secure.h"

namespace polympc::nn {

struct LayerReport {
  std::string name;
  std::string op;
  uint64_t rounds = 0;     ///< rounds of one inference (one batch; all images share them)
  double bytes_p0 = 0;     ///< bytes sent by P0 per image
  double bytes_p1 = 0;     ///< bytes sent by P1 per image
  double seconds = 0;      ///< online wall seconds per image (max of the two parties)
};

struct InferenceReport {
  size_t images = 0;
  size_t batch = 0;
  std::string backend;
  std::string compare;       ///< "gmw" or "fss" (ProtocolOptions::compare)
  std::string compare_bits;  ///< "full", "LO:HI", then ",layer=LO:HI" per layer override
  std::string trunc;
  Reveal reveal = Reveal::Logits;  ///< what P1 received: logits, or only the labels
  double accuracy = 0;            ///< 2PC top-1 vs labels
  double plaintext_accuracy = 0;  ///< fixed-point twin top-1 vs labels
  double float_accuracy = 0;      ///< float model top-1 vs labels
  double agreement = 0;           ///< fraction of images with 2PC top-1 == fixed-point top-1
  /// The next two compare logits: computed only with Reveal::Logits (logits_compared),
  /// left at 0 with Reveal::Label, where P1 never sees the logits.
  bool logits_compared = true;
  double max_logit_error = 0;     ///< max |2PC logit - fixed-point logit| (real units)
  size_t logits_equal = 0;        ///< images whose 2PC logits equal the twin's bit for bit
  /// Whether logits were checked against the truncation error budget: with Reveal::Logits
  /// and full-ring comparisons (a reduced-bit comparison approximates by design).
  bool failures_checked = false;
  /// The budget, in ulps (units of 2^-f) per logit: 1 per element one image truncates with
  /// probabilistic truncation (each is off by at most 1 ulp), 0 with exact and FSS
  /// truncation (bit-identical to the twin). docs/protocols.md "Truncation error".
  uint64_t logit_error_budget_ulps = 0;
  uint64_t truncated_per_image = 0;  ///< --trunc prob: elements one image truncates (from the material)
  /// Images (indices into the run) with a logit further from the twin than the budget: wrong
  /// results, e.g. a failed probabilistic truncation (off by 2^(l-f-s) in real units).
  std::vector<size_t> failed_images;
  std::vector<int>
      predictions;  ///< 2PC top-1 class per image (argmax_rows, or the revealed labels)
  double online_bytes = 0;        ///< per image, both parties, input sharing to output
  uint64_t rounds = 0;            ///< per inference (batch), input sharing to output
  double seconds = 0;             ///< online wall seconds, all images
  double seconds_per_image = 0;
  double offline_seconds = 0;     ///< dealer time, all images
  double offline_bytes = 0;       ///< dealer material per image, both parties
  uint64_t setup_bytes = 0;       ///< per-model opening of masked weights, both parties
  uint64_t setup_rounds = 0;
  std::vector<LayerReport> layers;   ///< network layers, then "input" and "output"
  std::vector<uint64_t>
      logits_raw;  ///< 2PC logits [images, classes], ring words (scale f); empty with Label
  std::vector<std::pair<std::string, mpc::KernelCounters>> kernels;  ///< P1 backend counters (all workers)
  size_t workers = 1;        ///< concurrent batches (InferenceOptions::workers)
  size_t lanes = 1;          ///< lanes per worker (InferenceOptions::tiling; 1 when untiled)
  std::map<std::string, size_t> tiles;  ///< executed tiles per layer with more than one (at most the batch)
  std::string link;          ///< the emulated link ("" = none): name, bandwidth, RTT
};

struct InferenceOptions {
  size_t batch = 100;
  mpc::ProtocolOptions protocol{};
  /// Dealer and client PRGs are keyed from the OS CSPRNG unless this is set: a fixed
  /// seed makes the run reproducible and is INSECURE (tests and --insecure-test-seed).
  std::optional<uint64_t> insecure_test_seed;
  Reveal reveal = Reveal::Logits;  ///< what P1 learns: the logits, or only the top-1 labels
  /// Called after each batch with (images done, images total).
  std::function<void(size_t, size_t)> progress;
  /// The two parties talk over an emulated link of this bandwidth and RTT (mpc/link.h)
  /// instead of the bare in-process channel.
  std::optional<mpc::LinkSpec> link;
  /// Batches whose online phases run at the same time, each pair of parties on its own
  /// channels (sharing the link's bandwidth), its own per-model setup and backends: the
  /// communication of one batch overlaps the computation of another. 1 = one at a time.
  /// The dealer prepares the material of `workers` batches, then their online phases run.
  size_t workers = 1;
  /// Backends of the workers after the first (party 0 and 1 of each); required when
  /// workers > 1. The first worker uses be0 and be1.
  std::function<std::unique_ptr<mpc::Backend>(int party)> make_backend;
  /// Per-layer tiling of the online phase (secure.h, Tiling; a plan's tiles, `polympc infer
  /// --plan`): each worker runs tiling.lanes lanes, their backends from make_backend.
  /// Inactive (every layer one tile) by default.
  Tiling tiling{};
  /// When set, every backend call, blocking read and layer of the online phase (and the
  /// per-model setup) is recorded as a span (mpc/trace.h), lane = worker · lanes + lane.
  mpc::SpanRecorder* trace = nullptr;
};

/// Runs `count` images of `data` through the 2PC protocol. be0/be1 are the backends of
/// P0 and P1 (distinct objects: each party owns its device). Throws DatasetError when
/// count exceeds the data set or its images are not the model's input size
/// (check_images), and whatever a party threw (the other party is stopped by closing its
/// channel).
InferenceReport run_inproc(const QuantizedModel& q, const Dataset& data, size_t count, mpc::Backend& be0,
                           mpc::Backend& be1, const InferenceOptions& opt);

/// Top-1 accuracy of the plaintext twins alone (no 2PC): the fixed-point twin
/// (fixed_forward under `o`) and the float network, on images 0..count-1 of `data`.
struct PlaintextReport {
  size_t images = 0;
  double fixed_accuracy = 0;  ///< fixed-point twin, = what a 2PC run with exact or FSS truncation returns
  double float_accuracy = 0;  ///< float network (float_forward)
  double seconds = 0;         ///< wall time of both twins
};
/// Throws DatasetError as run_inproc (count beyond the data set, wrong image size) and
/// mpc::InvalidArgument for count = 0.
PlaintextReport evaluate_plaintext(const QuantizedModel& q, const Dataset& data, size_t count, size_t batch,
                                   const mpc::ProtocolOptions& o);

}  // namespace polympc::nn
