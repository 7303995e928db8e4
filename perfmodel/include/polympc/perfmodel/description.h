// Descriptions as data (docs/design.md §9): boards, kernels, network presets and calibration
// files, read from JSON under perfmodel/data/ (or any path the user gives).
//
// Every number in a board, kernel or network file is an object {"value": v, "source": "..."}
// (optionally "unit"): the model refuses a number that does not say where it comes from.
// Loaders throw DescriptionError naming the file and the dotted field path
// ("resources.dsp") for a missing field, a wrong type, a non-positive value where one is
// required, or a number without its source; PerfModelError for an unknown board/preset
// name (the message lists the known ones).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "polympc/perfmodel/errors.h"

namespace polympc::perfmodel {

/// FPGA resources. LUT, FF, DSP48E2 slices, 36 Kb block RAMs, 288 Kb UltraRAMs.
struct Resources {
  double lut = 0, ff = 0, dsp = 0, bram_36k = 0, uram = 0;
  Resources& operator+=(const Resources& o) {
    lut += o.lut;
    ff += o.ff;
    dsp += o.dsp;
    bram_36k += o.bram_36k;
    uram += o.uram;
    return *this;
  }
  Resources scaled(double k) const { return Resources{lut * k, ff * k, dsp * k, bram_36k * k, uram * k}; }
};
inline Resources operator+(Resources a, const Resources& b) { return a += b; }

/// One accelerator board and its host (one per party: both parties own the same board).
struct Board {
  std::string name;   ///< short name, e.g. "u250" (= file stem)
  std::string title;  ///< e.g. "AMD Alveo U250"
  std::string file;   ///< where it was read from
  double clock_hz = 0;             ///< kernel clock
  Resources capacity;              ///< device resources
  std::string host_link;           ///< "pcie" or "shared-ddr" (Zynq: host CPU on the die)
  double host_link_bytes_per_s = 0;  ///< effective host<->device DMA bandwidth, bytes/s
  double launch_overhead_s = 0;    ///< host-side cost of one kernel launch (start .. wait), s
  double memory_bytes_per_s = 0;   ///< device memory bandwidth (DDR/HBM), bytes/s
  double power_active_w = 0;       ///< board power while kernels run, W
  double power_idle_w = 0;         ///< board power while it waits (network, host), W
  double host_power_w = 0;         ///< host CPU power attributed to one party, W
  /// The dealer's key-generation rate: AES-128 blocks per second that dcf_gen (mpc/src/dcf.cpp,
  /// AES-NI through OpenSSL EVP) encrypts on one core of the dealer's host ("dealer.
  /// aes_blocks_per_s"; optional in a board file: without it kDefaultDealerAesBlocksPerS).
  double dealer_aes_blocks_per_s = 0;
  /// Source of every number, by dotted field path ("clock_mhz", "resources.dsp", ...).
  std::map<std::string, std::string> sources;
};

/// How a kernel's cycles follow from its work (the formulas of the kernels/*.h headers).
enum class CycleModel {
  Elementwise,  ///< depth + ceil(n / lanes) * II                    (n elements or words)
  Matmul,       ///< rows x lanes MAC array, kernels::matmul_array_cycles (matmul_combine.h)
  PolyEval,     ///< depth + channels + ceil(n / lanes) * II          (poly_eval.h)
  BitSlice,     ///< depth + ceil(n / 64) (64 / lanes + bits) * II    (gmw_and_level.h)
  Dcf,          ///< depth + ceil(n / g) (g / lanes) (d + 1) II, g = 64 group_words,
                ///< lanes = AES cores, d = DCF depth                (dcf_eval.h)
  Winograd,     ///< depth + G (II (alpha^2 + s^2) + xform_latency), G groups of `lanes`
                ///< tiles (kernels::winograd_transform_cycles_at)  (winograd_transform.h)
};

/// One HLS kernel: its cycle model parameters and resources, from data/kernels/<name>.json.
struct KernelSpec {
  std::string name;  ///< Backend method name, e.g. "beaver_mul_combine"
  std::string file;
  CycleModel model = CycleModel::Elementwise;
  bool implemented = true;   ///< false for kernels that exist only in the model
  uint64_t lanes = 1;        ///< elements (words, AES cores) per initiation
  uint64_t ii = 1;           ///< initiation interval, cycles
  uint64_t depth = 0;        ///< pipeline depth incl. m_axi latencies, cycles
  uint64_t max_batch = 0;    ///< largest n per launch (0 = unbounded)
  uint64_t max_channels = 0; ///< poly_eval: per-channel table entries per launch
  uint64_t group_words = 0;  ///< dcf_eval: keys interleaved per group = 64 group_words
  uint64_t rows = 1;         ///< matmul_combine: output rows sharing each input packet
  uint64_t tile_n = 0;       ///< matmul_combine: accumulator row width (columns)
  uint64_t k_chunk = 0;      ///< matmul_combine: E/A columns buffered on chip per pass
  uint64_t xform_latency = 0; ///< winograd_transform: transform latency per group, cycles
  Resources per_lane;        ///< resources of one lane (one MAC unit of matmul's array)
  Resources per_row;         ///< matmul_combine: per array row (E/A slice buffers); else 0
  Resources fixed;           ///< control, AXI adapters, tables: independent of lanes
  double work_per_element = 0;  ///< e.g. 64-bit multiplies per element (see work_unit)
  std::string work_unit;
  std::map<std::string, std::string> sources;
  /// Resources at `lanes` lanes and `rows` rows: fixed + rows (per_row + lanes per_lane)
  /// (rows = 1 for every kernel but matmul_combine).
  Resources resources(uint64_t at_lanes, uint64_t at_rows = 1) const {
    return fixed + (per_row + per_lane.scaled(static_cast<double>(at_lanes))).scaled(static_cast<double>(at_rows));
  }
};

/// Dealer key-generation rate used when a board file has no "dealer" section, blocks/s.
/// Source: dcf_gen measured on the development machine (docs/perfmodel.md, "Offline phase").
constexpr double kDefaultDealerAesBlocksPerS = 8.0e7;

/// A network between the two parties.
struct NetworkPreset {
  std::string name;   ///< "lan", "wan", ...
  std::string title;
  std::string file;
  double bandwidth_bytes_per_s = 0;  ///< per direction
  double rtt_s = 0;                  ///< round-trip time; one protocol round costs one RTT
  std::map<std::string, std::string> sources;
};

/// Measured cost of one Backend method (or of one protocol's host-side overhead) on this
/// machine. With measured points (units, seconds) sorted by units: piecewise-linear
/// interpolation between them (per-element cost grows with size once data leave the
/// caches), the line per_call + k u up to the first point, and the last point's seconds
/// per unit beyond the last. Without points: per_call + per_unit * units.
struct Timing {
  double per_call = 0;  ///< seconds (least-squares fit, relative error)
  double per_unit = 0;  ///< seconds per unit (same fit)
  std::string unit;     ///< "element", "word", "mac", "host word"
  std::vector<std::pair<double, double>> points;  ///< measured (units, seconds), ascending
  /// Seconds for one call on `units` units (see above).
  double seconds(double units) const;
};

/// This machine's software backend, measured by `polympc bench calibrate`.
struct Calibration {
  std::string file;
  std::string backend = "cpu";
  std::string machine;     ///< CPU model / host name, for the record
  std::string created;     ///< ISO date
  int threads = 0;         ///< CpuBackend threads per party used when measuring
  /// Per Backend method (kernel): units are the KernelCounters `elements` of that method.
  std::map<std::string, Timing> kernels;
  /// Per protocol: host-side overhead (masking, packing, lowering, channel) beyond the
  /// kernels, fitted on whole protocol runs with both parties on two threads.
  std::map<std::string, Timing> protocols;
};

/// Directory with boards/, kernels/, networks/: $POLYMPC_PERFMODEL_DATA if set, else the
/// source tree's perfmodel/data (compiled in).
std::string default_data_dir();

/// Board by name ("u250" -> <data_dir>/boards/u250.json) or by path (anything containing
/// '/' or ending in ".json"). data_dir "" = default_data_dir().
Board load_board(const std::string& name_or_path, const std::string& data_dir = "");
/// Network preset by name ("lan", "wan", "lan-cheetah", "wan-cheetah") or path.
NetworkPreset load_network(const std::string& name_or_path, const std::string& data_dir = "");
/// One kernel file.
KernelSpec load_kernel(const std::string& path);
/// Every <data_dir>/kernels/*.json, by kernel name. Throws if a kernel the model needs is
/// missing (beaver_mul_combine, matmul_combine, poly_eval, trunc, gmw_and_level,
/// b2a_combine, bit_slice, dcf_eval, winograd_transform).
std::map<std::string, KernelSpec> load_kernels(const std::string& data_dir = "");
/// Names (file stems) of the boards / presets under data_dir.
std::vector<std::string> list_boards(const std::string& data_dir = "");
std::vector<std::string> list_networks(const std::string& data_dir = "");

/// Calibration file written by save_calibration (format "polympc-calibration", version 1).
Calibration load_calibration(const std::string& path);
/// Writes c as JSON. Throws PerfModelError on I/O failure.
void save_calibration(const Calibration& c, const std::string& path);

}  // namespace polympc::perfmodel
