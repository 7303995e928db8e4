// XrtBackend: mpc::Backend through the XRT native API (see xrt_backend.h).
#include "polympc/host/xrt_backend.h"

#include <xrt/xrt_bo.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "device_model.h"
#include "kernels/beaver_mul_combine.h"
#include "kernels/dcf_eval.h"
#include "kernels/gmw_and_level.h"
#include "kernels/matmul_combine.h"
#include "kernels/poly_eval.h"
#include "polympc/hls/launch.h"
#include "kernels/trunc.h"
#include "kernels/winograd_transform.h"
#include "polympc/hls/kernel_signatures.h"
#include "polympc/host/errors.h"
#include "polympc/mpc/dcf.h"
#include "polympc/mpc/errors.h"
#include "xrt_device.h"

namespace polympc::host {

DeviceModel parse_device_model(const std::string& text) {
  if (text == "auto") return DeviceModel::kAuto;
  if (text == "on") return DeviceModel::kOn;
  if (text == "off") return DeviceModel::kOff;
  throw mpc::InvalidArgument("unknown device model setting '" + text + "' (choose auto, on or off)");
}

const char* to_string(DeviceModel m) {
  switch (m) {
    case DeviceModel::kOn: return "on";
    case DeviceModel::kOff: return "off";
    default: return "auto";
  }
}

namespace {

namespace k = polympc::kernels;
using hls::ArgKind;

using BeaverCfg = k::BeaverMulDefaultConfig;
using MatmulCfg = k::MatmulDefaultConfig;
using PolyCfg = k::PolyEvalDefaultConfig;
static_assert(int(mpc::PolyMode::Quadratic) == k::kPolyQuadratic &&
                  int(mpc::PolyMode::LinearChannel) == k::kPolyLinearChannel &&
                  int(mpc::PolyMode::LinearElement) == k::kPolyLinearElement,
              "mpc::PolyMode and the poly_eval kernel's modes differ");
using TruncCfg = k::TruncDefaultConfig;
using GmwCfg = k::GmwAndDefaultConfig;
using B2aCfg = k::B2aDefaultConfig;
using BitSliceCfg = k::BitSliceDefaultConfig;
using DcfCfg = k::DcfEvalDefaultConfig;
using WinogradCfg = k::WinogradDefaultConfig;
static_assert(int(mpc::WinogradMode::Input) == k::kWinogradInput &&
                  int(mpc::WinogradMode::Output) == k::kWinogradOutput,
              "mpc::WinogradMode and the winograd_transform kernel's modes differ");

// The kernels this backend launches; each must be in hls/kernels.json.
constexpr int kBeaver = hls::find_kernel_index("beaver_mul_combine_top");
constexpr int kMatmul = hls::find_kernel_index("matmul_combine_top");
constexpr int kPoly = hls::find_kernel_index("poly_eval_top");
constexpr int kTrunc = hls::find_kernel_index("trunc_top");
constexpr int kGmwAnd = hls::find_kernel_index("gmw_and_level_top");
constexpr int kB2a = hls::find_kernel_index("b2a_combine_top");
constexpr int kBitSlice = hls::find_kernel_index("bit_slice_top");
constexpr int kDcf = hls::find_kernel_index("dcf_eval_top");
constexpr int kWinograd = hls::find_kernel_index("winograd_transform_top");
static_assert(kBeaver >= 0 && kMatmul >= 0 && kPoly >= 0 && kTrunc >= 0 && kGmwAnd >= 0 && kB2a >= 0 &&
                  kBitSlice >= 0 && kDcf >= 0 && kWinograd >= 0,
              "XrtBackend launches a kernel that hls/kernels.json does not describe");

/// Poison written into output BOs before a run when the device model is active: a word
/// the kernel does not write shows up as this value in the results.
constexpr unsigned char kPoisonByte = 0xA5;
constexpr size_t kMinBoBytes = 4096;

/// Throws mpc::InvalidArgument when `err` (a kernel *_arg_error result) is set.
void check(const char* method, const char* err, const std::string& detail) {
  if (err != nullptr)
    throw mpc::InvalidArgument(std::string("xrt backend: ") + method + ": " + err + " (" + detail + ")");
}

std::string pb(int party, int bits) { return "party=" + std::to_string(party) + ", bits=" + std::to_string(bits); }

std::string state_name(ert_cmd_state s) {
  switch (s) {
    case ERT_CMD_STATE_NEW: return "ERT_CMD_STATE_NEW";
    case ERT_CMD_STATE_QUEUED: return "ERT_CMD_STATE_QUEUED";
    case ERT_CMD_STATE_RUNNING: return "ERT_CMD_STATE_RUNNING";
    case ERT_CMD_STATE_COMPLETED: return "ERT_CMD_STATE_COMPLETED";
    case ERT_CMD_STATE_ERROR: return "ERT_CMD_STATE_ERROR";
    case ERT_CMD_STATE_ABORT: return "ERT_CMD_STATE_ABORT";
    case ERT_CMD_STATE_SUBMITTED: return "ERT_CMD_STATE_SUBMITTED";
    case ERT_CMD_STATE_TIMEOUT: return "ERT_CMD_STATE_TIMEOUT";
    case ERT_CMD_STATE_NORESPONSE: return "ERT_CMD_STATE_NORESPONSE";
    default: return "ert_cmd_state " + std::to_string(static_cast<int>(s));
  }
}

/// Host side of one buffer argument of one launch.
struct HostBuffer {
  const uint64_t* in = nullptr;  ///< input words copied into the BO (kInput)
  uint64_t* out = nullptr;       ///< destination of the output words (kOutput)
  size_t words = 0;              ///< BO words the launch uses
  size_t rows = 1;               ///< output rows of words / rows words each ...
  size_t host_stride = 0;        ///< ... written `host_stride` words apart at `out` (rows > 1)
};

/// The arguments of one kernel run, bound by name and checked against the description:
/// the host cannot pass an argument the kernel does not have, of the wrong kind, or
/// forget one (KernelSignatureError naming kernel and argument).
class Launch {
 public:
  explicit Launch(const hls::KernelSig& sig) : sig_(&sig), scalars_(sig.num_args, 0), buffers_(sig.num_args), bound_(sig.num_args, false) {}

  Launch& scalar(const char* name, int64_t value) {
    const int i = bind(name, ArgKind::kScalar);
    // Stored as the register will hold it: a 4-byte argument keeps its low 32 bits
    // (sign-extended for int, zero-extended for uint32_t).
    const hls::KernelArgSig& a = sig_->args[i];
    if (a.size == 4)
      value = std::strcmp(a.type, "int") == 0 ? int64_t(int32_t(uint32_t(value))) : int64_t(uint32_t(value));
    scalars_[i] = value;
    return *this;
  }
  Launch& input(const char* name, const uint64_t* data, size_t words) {
    const int i = bind(name, ArgKind::kInput);
    buffers_[i].in = data;
    buffers_[i].words = words;
    return *this;
  }
  Launch& output(const char* name, uint64_t* data, size_t words) { return output_rows(name, data, words == 0 ? 0 : 1, words, words); }
  /// `rows` rows of `row_words` words, contiguous in the BO, `host_stride` apart at `data`.
  Launch& output_rows(const char* name, uint64_t* data, size_t rows, size_t row_words, size_t host_stride) {
    const int i = bind(name, ArgKind::kOutput);
    buffers_[i].out = data;
    buffers_[i].words = rows * row_words;
    buffers_[i].rows = rows;
    buffers_[i].host_stride = host_stride;
    return *this;
  }
  /// Throws unless every argument is bound.
  void check_complete() const {
    for (uint32_t i = 0; i < sig_->num_args; ++i)
      if (!bound_[i])
        throw KernelSignatureError(std::string("xrt backend: the host gives no value for argument '") + sig_->args[i].name +
                                       "' of kernel '" + sig_->name + "'",
                                   sig_->name, sig_->args[i].name);
  }
  const hls::KernelSig& sig() const { return *sig_; }
  int64_t scalar_at(size_t i) const { return scalars_[i]; }
  const HostBuffer& buffer_at(size_t i) const { return buffers_[i]; }

 private:
  int bind(const char* name, ArgKind kind) {
    const int i = hls::find_arg(*sig_, name);
    if (i < 0)
      throw KernelSignatureError(std::string("xrt backend: kernel '") + sig_->name + "' has no argument '" + name +
                                     "' in hls/kernels.json",
                                 sig_->name, name);
    if (sig_->args[i].kind != kind)
      throw KernelSignatureError(std::string("xrt backend: argument '") + name + "' of kernel '" + sig_->name +
                                     "' is a " + sig_->args[i].type + " in hls/kernels.json, the host passes a " +
                                     (kind == ArgKind::kScalar ? "scalar" : kind == ArgKind::kInput ? "input buffer" : "output buffer"),
                                 sig_->name, name);
    bound_[i] = true;
    return i;
  }

  const hls::KernelSig* sig_;
  std::vector<int64_t> scalars_;
  std::vector<HostBuffer> buffers_;
  std::vector<bool> bound_;
};

/// One xrt::run with its own BOs (one per buffer argument).
struct Slot {
  xrt::run run;
  std::vector<xrt::bo> bos;          ///< per argument; empty for scalars
  std::vector<size_t> bytes;         ///< allocated bytes per argument
  std::vector<uint64_t*> maps;       ///< bo.map() per argument
  std::optional<Launch> pending;     ///< the launch in flight
};

/// Everything of one kernel: its xrt::kernel, group ids, slots, device model.
struct KernelContext {
  const hls::KernelSig* sig = nullptr;
  xrt::kernel kernel;
  std::vector<int> group;             ///< kernel.group_id(arg) per buffer argument
  std::vector<Slot> slots;
  size_t next = 0;                    ///< slot of the next run (round robin within a call)
  std::deque<size_t> in_flight;       ///< slots with a started run, oldest first
  detail::DeviceModelFn model = nullptr;
  std::mutex mutex;
  uint64_t runs = 0;
  uint64_t bo_allocations = 0;
  unsigned max_in_flight = 0;
};

bool resolve_device_model(DeviceModel requested) {
  DeviceModel m = requested;
  if (m == DeviceModel::kAuto) {
    const char* env = std::getenv("POLYMPC_XRT_DEVICE_MODEL");
    if (env && *env) m = parse_device_model(env);
  }
  const bool noop = detail::noop_mode();
  if (m == DeviceModel::kAuto) return noop;
  if (m == DeviceModel::kOn && !noop)
    throw DeviceModelError(
        "the device model runs the kernels' C++ on the host after each run and would overwrite what the "
        "device computed; it is only allowed on XRT's noop device (XCL_EMULATION_MODE=noop), here "
        "XCL_EMULATION_MODE is '" + detail::emulation_mode() + "'",
        "", "", "device model");
  return m == DeviceModel::kOn;
}

}  // namespace

struct XrtBackend::Impl {
  XrtOptions options;
  bool model_active;  // decided before any device is touched
  detail::XrtDevice device;
  std::vector<std::unique_ptr<KernelContext>> kernels;
  mutable std::mutex counters_mutex;
  std::map<std::string, mpc::KernelCounters> counters;

  explicit Impl(const XrtOptions& o)
      : options(o), model_active(resolve_device_model(o.device_model)), device(o.xclbin, o.device) {
    const unsigned n_slots = std::max(1u, options.runs_in_flight);
    for (uint32_t t = 0; t < hls::kNumKernels; ++t) {
      auto ctx = std::make_unique<KernelContext>();
      ctx->sig = &hls::kKernelTable[t];
      ctx->kernel = device.kernel(t);
      ctx->model = detail::device_model(ctx->sig->name);
      ctx->group.assign(ctx->sig->num_args, -1);
      for (uint32_t i = 0; i < ctx->sig->num_args; ++i)
        if (ctx->sig->args[i].kind != ArgKind::kScalar) {
          try {
            ctx->group[i] = ctx->kernel.group_id(static_cast<int>(i));
          } catch (const std::exception& e) {
            throw KernelSignatureError(std::string("xclbin '") + options.xclbin + "' has no memory connection for argument '" +
                                           ctx->sig->args[i].name + "' of kernel '" + ctx->sig->name + "': " + e.what(),
                                       ctx->sig->name, ctx->sig->args[i].name);
          }
        }
      ctx->slots.resize(n_slots);
      for (Slot& s : ctx->slots) {
        s.run = xrt::run(ctx->kernel);
        s.bos.resize(ctx->sig->num_args);
        s.bytes.assign(ctx->sig->num_args, 0);
        s.maps.assign(ctx->sig->num_args, nullptr);
      }
      kernels.push_back(std::move(ctx));
    }
  }

  ~Impl() {
    for (auto& ctx : kernels) drain(*ctx);
  }

  size_t batch_limit(size_t kernel_bound) const {
    return options.max_batch == 0 ? kernel_bound : std::min(options.max_batch, kernel_bound);
  }

  void record(const char* method, uint64_t elements, uint64_t cycles) {
    std::lock_guard<std::mutex> lock(counters_mutex);
    mpc::KernelCounters& c = counters[method];
    c.calls += 1;
    c.elements += elements;
    c.modelled_cycles += cycles;
  }

  Launch launch(int table_index) const { return Launch(hls::kKernelTable[table_index]); }

  /// Runs `launches` of one kernel, up to slots.size() in flight, in order.
  void execute(int table_index, std::vector<Launch>& launches) {
    KernelContext& ctx = *kernels[static_cast<size_t>(table_index)];
    std::lock_guard<std::mutex> lock(ctx.mutex);
    ctx.next = 0;  // nothing in flight between calls: a one-launch call always uses slot 0
    try {
      for (Launch& l : launches) {
        l.check_complete();
        if (ctx.in_flight.size() == ctx.slots.size()) finish_oldest(ctx);
        const size_t s = ctx.next;
        ctx.next = (ctx.next + 1) % ctx.slots.size();
        start(ctx, ctx.slots[s], l);
        ctx.in_flight.push_back(s);
        ctx.max_in_flight = std::max(ctx.max_in_flight, static_cast<unsigned>(ctx.in_flight.size()));
      }
      while (!ctx.in_flight.empty()) finish_oldest(ctx);
    } catch (...) {
      drain(ctx);
      throw;
    }
  }

  /// Makes slot.bos[i] hold at least `bytes` (grown to a power of two, at least 4 KiB).
  void ensure_bo(KernelContext& ctx, Slot& slot, size_t i, size_t bytes) {
    if (slot.bytes[i] >= bytes && slot.maps[i] != nullptr) return;
    size_t want = kMinBoBytes;
    while (want < bytes) want *= 2;
    const char* arg = ctx.sig->args[i].name;
    try {
      slot.bos[i] = xrt::bo();  // release the old buffer first
      slot.bos[i] = xrt::bo(device.device(), want, ctx.group[i]);
      slot.maps[i] = slot.bos[i].map<uint64_t*>();
      slot.bytes[i] = want;
      ++ctx.bo_allocations;
    } catch (const std::exception& e) {
      slot.bytes[i] = 0;
      slot.maps[i] = nullptr;
      throw RunError(std::string("cannot allocate a ") + std::to_string(want) + "-byte buffer for argument '" + arg +
                         "' of kernel '" + ctx.sig->name + "' in memory group " + std::to_string(ctx.group[i]) + ": " +
                         e.what(),
                     ctx.sig->name, arg, "bo allocation");
    }
  }

  /// Stages `l` on `slot` (BOs, syncs, arguments) and starts the run.
  void start(KernelContext& ctx, Slot& slot, const Launch& l) {
    const hls::KernelSig& sig = *ctx.sig;
    for (uint32_t i = 0; i < sig.num_args; ++i) {
      const hls::KernelArgSig& a = sig.args[i];
      const int idx = static_cast<int>(i);
      try {
        if (a.kind == ArgKind::kScalar) {
          const int64_t v = l.scalar_at(i);
          if (a.size == 8)
            slot.run.set_arg(idx, static_cast<uint64_t>(v));
          else if (std::strcmp(a.type, "int") == 0)
            slot.run.set_arg(idx, static_cast<int32_t>(v));
          else
            slot.run.set_arg(idx, static_cast<uint32_t>(v));
          continue;
        }
        const HostBuffer& b = l.buffer_at(i);
        const size_t bytes = b.words * sizeof(uint64_t);
        ensure_bo(ctx, slot, i, bytes);
        if (a.kind == ArgKind::kInput && bytes > 0) {
          std::memcpy(slot.maps[i], b.in, bytes);
          slot.bos[i].sync(XCL_BO_SYNC_BO_TO_DEVICE, bytes, 0);
        } else if (a.kind == ArgKind::kOutput && model_active && bytes > 0) {
          std::memset(slot.maps[i], kPoisonByte, bytes);
        }
        slot.run.set_arg(idx, slot.bos[i]);
      } catch (const XrtError&) {
        throw;
      } catch (const std::exception& e) {
        throw RunError(std::string("cannot set argument '") + a.name + "' of kernel '" + sig.name + "': " + e.what(),
                       sig.name, a.name, "set_arg");
      }
    }
    slot.pending.emplace(l);
    try {
      slot.run.start();
    } catch (const std::exception& e) {
      slot.pending.reset();
      throw RunError(std::string("cannot start kernel '") + sig.name + "': " + e.what(), sig.name, "", "start");
    }
    ++ctx.runs;
  }

  /// Waits for the oldest run, checks its state, runs the device model, copies outputs out.
  void finish_oldest(KernelContext& ctx) {
    const size_t s = ctx.in_flight.front();
    Slot& slot = ctx.slots[s];
    const hls::KernelSig& sig = *ctx.sig;
    ert_cmd_state state;
    try {
      state = options.run_timeout_ms > 0 ? slot.run.wait(std::chrono::milliseconds(options.run_timeout_ms))
                                         : slot.run.wait();
    } catch (const std::exception& e) {
      throw RunError(std::string("waiting for kernel '") + sig.name + "' failed: " + e.what(), sig.name, "", "wait");
    }
    if (state != ERT_CMD_STATE_COMPLETED) {
      const bool unfinished = state == ERT_CMD_STATE_TIMEOUT || state == ERT_CMD_STATE_NEW ||
                              state == ERT_CMD_STATE_QUEUED || state == ERT_CMD_STATE_SUBMITTED ||
                              state == ERT_CMD_STATE_RUNNING;
      throw RunError(std::string("kernel '") + sig.name + "' run ended in state " + state_name(state) +
                         " instead of ERT_CMD_STATE_COMPLETED" +
                         (unfinished && options.run_timeout_ms > 0
                              ? " (not done within the " + std::to_string(options.run_timeout_ms) + " ms timeout)"
                              : ""),
                     sig.name, "", state_name(state));
    }
    const Launch& l = *slot.pending;
    if (model_active) {
      if (ctx.model == nullptr)
        throw DeviceModelError(std::string("no device model for kernel '") + sig.name + "' (its top is not linked in)",
                               sig.name, "", "device model");
      std::vector<detail::DeviceArg> args(sig.num_args);
      for (uint32_t i = 0; i < sig.num_args; ++i) {
        if (sig.args[i].kind == ArgKind::kScalar)
          args[i].scalar = l.scalar_at(i);
        else
          args[i].ptr = slot.bos[i].map();
      }
      ctx.model(args.data());
    }
    for (uint32_t i = 0; i < sig.num_args; ++i) {
      if (sig.args[i].kind != ArgKind::kOutput) continue;
      const HostBuffer& b = l.buffer_at(i);
      const size_t bytes = b.words * sizeof(uint64_t);
      if (bytes == 0) continue;
      try {
        slot.bos[i].sync(XCL_BO_SYNC_BO_FROM_DEVICE, bytes, 0);
      } catch (const std::exception& e) {
        throw RunError(std::string("cannot read back argument '") + sig.args[i].name + "' of kernel '" + sig.name +
                           "': " + e.what(),
                       sig.name, sig.args[i].name, "sync from device");
      }
      const size_t row_words = b.words / b.rows;
      for (size_t r = 0; r < b.rows; ++r)
        std::memcpy(b.out + r * b.host_stride, slot.maps[i] + r * row_words, row_words * sizeof(uint64_t));
    }
    slot.pending.reset();
    ctx.in_flight.pop_front();
  }

  /// After an error: waits for every run still in flight (their BOs are in use), forgets them.
  void drain(KernelContext& ctx) {
    for (size_t s : ctx.in_flight) {
      try {
        ctx.slots[s].run.wait();
      } catch (...) {
        // The run's own error was (or will be) reported; the BOs are free either way.
      }
      ctx.slots[s].pending.reset();
    }
    ctx.in_flight.clear();
  }
};

XrtBackend::XrtBackend(const XrtOptions& options) : impl_(std::make_unique<Impl>(options)) {}
XrtBackend::~XrtBackend() = default;

std::string XrtBackend::name() const { return "xrt"; }
const XrtOptions& XrtBackend::options() const { return impl_->options; }
bool XrtBackend::device_model_active() const { return impl_->model_active; }
std::string XrtBackend::xclbin_uuid() const { return impl_->device.uuid().to_string(); }

std::map<std::string, mpc::KernelCounters> XrtBackend::counters() const {
  std::lock_guard<std::mutex> lock(impl_->counters_mutex);
  return impl_->counters;
}

std::map<std::string, uint64_t> XrtBackend::runs() const {
  std::map<std::string, uint64_t> out;
  for (const auto& ctx : impl_->kernels) {
    std::lock_guard<std::mutex> lock(ctx->mutex);
    out[ctx->sig->name] = ctx->runs;
  }
  return out;
}

uint64_t XrtBackend::bo_allocations() const {
  uint64_t n = 0;
  for (const auto& ctx : impl_->kernels) {
    std::lock_guard<std::mutex> lock(ctx->mutex);
    n += ctx->bo_allocations;
  }
  return n;
}

unsigned XrtBackend::max_runs_in_flight() const {
  unsigned m = 0;
  for (const auto& ctx : impl_->kernels) {
    std::lock_guard<std::mutex> lock(ctx->mutex);
    m = std::max(m, ctx->max_in_flight);
  }
  return m;
}

void XrtBackend::beaver_mul_combine(int party, int bits, size_t n, const uint64_t* d, const uint64_t* e,
                                    const uint64_t* a, const uint64_t* b, const uint64_t* c, uint64_t* z) {
  check("beaver_mul_combine", k::beaver_mul_combine_arg_error(party, bits), pb(party, bits));
  std::vector<Launch> launches;
  uint64_t cycles = 0;
  hls::for_each_launch(n, impl_->batch_limit(BeaverCfg::max_batch), [&](size_t o, size_t len) {
    launches.push_back(impl_->launch(kBeaver)
                           .scalar("party", party)
                           .scalar("bits", bits)
                           .scalar("n", static_cast<int64_t>(len))
                           .input("d", d + o, len)
                           .input("e", e + o, len)
                           .input("a", a + o, len)
                           .input("b", b + o, len)
                           .input("c", c + o, len)
                           .output("z", z + o, len));
    cycles += k::beaver_mul_combine_cycles<BeaverCfg>(len);
  });
  impl_->execute(kBeaver, launches);
  impl_->record("beaver_mul_combine", n, cycles);
}

void XrtBackend::matmul_combine(int party, int bits, size_t m, size_t kk, size_t n, const uint64_t* e,
                                const uint64_t* f, const uint64_t* a, const uint64_t* b, const uint64_t* c,
                                uint64_t* z) {
  check("matmul_combine", k::matmul_combine_arg_error(party, bits), pb(party, bits));
  const size_t kMaxDim = size_t(1) << 31;
  if (m >= kMaxDim || kk >= kMaxDim || n >= kMaxDim)
    check("matmul_combine", "matrix dimensions must be below 2^31",
          "m=" + std::to_string(m) + ", k=" + std::to_string(kk) + ", n=" + std::to_string(n));
  uint64_t cycles = 0;
  if (m > 0 && n > 0) {
    std::vector<Launch> launches;
    launches.push_back(impl_->launch(kMatmul)
                           .scalar("party", party)
                           .scalar("bits", bits)
                           .scalar("m", static_cast<int64_t>(m))
                           .scalar("k", static_cast<int64_t>(kk))
                           .scalar("n", static_cast<int64_t>(n))
                           .input("e", e, m * kk)
                           .input("f", f, kk * n)
                           .input("a", a, m * kk)
                           .input("b", b, kk * n)
                           .input("c", c, m * n)
                           .output("z", z, m * n));
    impl_->execute(kMatmul, launches);
    cycles = k::matmul_combine_cycles<MatmulCfg>(m, kk, n);
  }
  impl_->record("matmul_combine", uint64_t(m) * kk * n, cycles);
}

void XrtBackend::poly_eval(int party, int bits, const mpc::PolyShape& s, mpc::PolyMode mode,
                           const mpc::PolyEvalArgs& args, uint64_t* z) {
  const int kmode = static_cast<int>(mode);
  check("poly_eval", k::poly_eval_arg_error<PolyCfg>(party, bits, kmode, 0, 0, 0),
        pb(party, bits) + ", mode=" + std::to_string(kmode));
  const size_t n = s.size();
  const bool quad = mode == mpc::PolyMode::Quadratic;
  const bool per_element = mode == mpc::PolyMode::LinearElement;
  std::vector<Launch> launches;
  uint64_t cycles = 0;
  // One launch on the channel range [c0, c0 + cn) of outer rows [o0, o0 + on) when
  // inner_len == s.inner, or on inner elements [i0, i0 + inner_len) of one (o0, c0):
  // launches by kernels/poly_eval.h poly_eval_launches (as sim and perfmodel). Buffers the
  // mode does not read are bound empty.
  auto launch = [&](size_t o0, size_t on, size_t c0, size_t cn, size_t i0, size_t inner_len) {
    const size_t off = (o0 * s.channels + c0) * s.inner + i0;
    const size_t len = on * cn * inner_len;
    const size_t quad_words = quad ? len : 0, quad_ch = quad ? cn : 0;
    const size_t w1 = per_element ? len : cn;
    const mpc::PolyEvalArgs a = mpc::poly_eval_offset(args, mode, off, c0);
    launches.push_back(impl_->launch(kPoly)
                           .scalar("party", party)
                           .scalar("bits", bits)
                           .scalar("outer", static_cast<int64_t>(on))
                           .scalar("channels", static_cast<int64_t>(cn))
                           .scalar("inner", static_cast<int64_t>(inner_len))
                           .scalar("mode", kmode)
                           .input("d", a.d, len)
                           .input("a", a.alpha, len)
                           .input("a2", a.a2, quad_words)
                           .input("m2a", a.m2a, quad_words)
                           .input("m2a2", a.m2a2, quad_words)
                           .input("m1a", a.m1a, len)
                           .input("e1", a.e1, w1)
                           .input("m1", a.m1, w1)
                           .input("e2", a.e2, quad_ch)
                           .input("m2", a.m2, quad_ch)
                           .input("add", a.add, cn)
                           .output("z", z + off, len));
    cycles += k::poly_eval_cycles<PolyCfg>(cn, uint64_t(on) * cn * inner_len);
  };
  if (n > 0) {
    const size_t max_batch = impl_->batch_limit(PolyCfg::max_batch);
    const size_t max_ch = impl_->options.max_channels == 0
                              ? size_t(PolyCfg::max_channels)
                              : std::min(impl_->options.max_channels, size_t(PolyCfg::max_channels));
    k::poly_eval_launches(s.outer, s.channels, s.inner, max_batch, max_ch, launch);
    impl_->execute(kPoly, launches);
  }
  impl_->record("poly_eval", n, cycles);
}

void XrtBackend::trunc_exact_combine(int party, int bits, int shift, size_t n, const uint64_t* x,
                                     const uint64_t* carry, const uint64_t* wrap, uint64_t* z) {
  check("trunc_exact_combine", k::trunc_exact_arg_error(party, bits, shift),
        pb(party, bits) + ", shift=" + std::to_string(shift));
  std::vector<Launch> launches;
  uint64_t cycles = 0;
  hls::for_each_launch(n, impl_->batch_limit(TruncCfg::max_batch), [&](size_t o, size_t len) {
    launches.push_back(impl_->launch(kTrunc)
                           .scalar("mode", k::kTruncExact)
                           .scalar("party", party)
                           .scalar("bits", bits)
                           .scalar("shift", shift)
                           .scalar("offset_bits", 0)
                           .scalar("n", static_cast<int64_t>(len))
                           .input("in0", x + o, len)
                           .input("in1", carry + o, len)
                           .input("in2", wrap + o, len)
                           .output("z", z + o, len));
    cycles += k::trunc_cycles<TruncCfg>(len);
  });
  impl_->execute(kTrunc, launches);
  impl_->record("trunc_exact_combine", n, cycles);
}

void XrtBackend::trunc_prob_combine(int party, int bits, int shift, int offset_bits, size_t n, const uint64_t* c,
                                    const uint64_t* r_shr, uint64_t* z) {
  check("trunc_prob_combine", k::trunc_prob_arg_error(party, bits, shift, offset_bits),
        pb(party, bits) + ", shift=" + std::to_string(shift) + ", offset_bits=" + std::to_string(offset_bits));
  std::vector<Launch> launches;
  uint64_t cycles = 0;
  hls::for_each_launch(n, impl_->batch_limit(TruncCfg::max_batch), [&](size_t o, size_t len) {
    launches.push_back(impl_->launch(kTrunc)
                           .scalar("mode", k::kTruncProb)
                           .scalar("party", party)
                           .scalar("bits", bits)
                           .scalar("shift", shift)
                           .scalar("offset_bits", offset_bits)
                           .scalar("n", static_cast<int64_t>(len))
                           .input("in0", c + o, len)
                           .input("in1", r_shr + o, len)
                           .input("in2", nullptr, 0)  // not read in this mode: any buffer
                           .output("z", z + o, len));
    cycles += k::trunc_cycles<TruncCfg>(len);
  });
  impl_->execute(kTrunc, launches);
  impl_->record("trunc_prob_combine", n, cycles);
}

void XrtBackend::gmw_and_level(int party, size_t words, const uint64_t* d, const uint64_t* e, const uint64_t* a,
                               const uint64_t* b, const uint64_t* c, uint64_t* z) {
  check("gmw_and_level", k::gmw_and_level_arg_error(party), "party=" + std::to_string(party));
  std::vector<Launch> launches;
  uint64_t cycles = 0;
  hls::for_each_launch(words, impl_->batch_limit(GmwCfg::max_batch), [&](size_t o, size_t len) {
    launches.push_back(impl_->launch(kGmwAnd)
                           .scalar("party", party)
                           .scalar("words", static_cast<int64_t>(len))
                           .input("d", d + o, len)
                           .input("e", e + o, len)
                           .input("a", a + o, len)
                           .input("b", b + o, len)
                           .input("c", c + o, len)
                           .output("z", z + o, len));
    cycles += k::gmw_and_level_cycles<GmwCfg>(len);
  });
  impl_->execute(kGmwAnd, launches);
  impl_->record("gmw_and_level", words, cycles);
}

void XrtBackend::b2a_combine(int party, int bits, size_t n, const uint64_t* e_packed, const uint64_t* r,
                             uint64_t* z) {
  check("b2a_combine", k::b2a_combine_arg_error(party, bits), pb(party, bits));
  // Launches start on packed-word boundaries.
  const size_t limit = size_t(hls::block64_limit(impl_->batch_limit(B2aCfg::max_batch)));
  std::vector<Launch> launches;
  uint64_t cycles = 0;
  hls::for_each_launch(n, limit, [&](size_t o, size_t len) {
    launches.push_back(impl_->launch(kB2a)
                           .scalar("party", party)
                           .scalar("bits", bits)
                           .scalar("n", static_cast<int64_t>(len))
                           .input("e_packed", e_packed + o / 64, (len + 63) / 64)
                           .input("r", r + o, len)
                           .output("z", z + o, len));
    cycles += k::b2a_combine_cycles<B2aCfg>(len);
  });
  impl_->execute(kB2a, launches);
  impl_->record("b2a_combine", n, cycles);
}

void XrtBackend::bit_slice(int bits, size_t n, const uint64_t* x, uint64_t* planes) {
  check("bit_slice", k::bit_slice_arg_error(bits), "bits=" + std::to_string(bits));
  const size_t words = (n + 63) / 64;
  if (words >= (size_t(1) << 31)) check("bit_slice", "n too large", "n=" + std::to_string(n));
  // Launches start on block boundaries; each writes `bits` rows of its own width into its
  // BO (plane_stride = its width), copied out into the full-width rows of `planes`.
  const size_t limit = size_t(hls::block64_limit(impl_->batch_limit(BitSliceCfg::max_batch)));
  const size_t rows = static_cast<size_t>(std::clamp(bits, 0, 64));
  std::vector<Launch> launches;
  uint64_t cycles = 0;
  hls::for_each_launch(n, limit, [&](size_t o, size_t len) {
    const size_t w = (len + 63) / 64;
    launches.push_back(impl_->launch(kBitSlice)
                           .scalar("bits", bits)
                           .scalar("n", static_cast<int64_t>(len))
                           .scalar("plane_stride", static_cast<int64_t>(w))
                           .input("x", x + o, len)
                           .output_rows("planes", planes + o / 64, rows, w, words));
    cycles += k::bit_slice_cycles<BitSliceCfg>(bits, len);
  });
  impl_->execute(kBitSlice, launches);
  impl_->record("bit_slice", n, cycles);
}

void XrtBackend::winograd_transform(int bits, mpc::WinogradMode mode, const mpc::WinogradShape& s,
                                    const uint64_t* in, uint64_t* out) {
  const int kmode = static_cast<int>(mode);
  check("winograd_transform", k::winograd_transform_arg_error(kmode, bits, s.m),
        "bits=" + std::to_string(bits) + ", mode=" + std::to_string(kmode) + ", m=" + std::to_string(s.m));
  check("winograd_transform", mpc::winograd_shape_error(s), mpc::winograd_shape_str(s));
  const uint64_t tiles = uint64_t(s.batch) * s.channels * s.tiles();
  uint64_t cycles = 0;
  if (tiles > 0) {
    // One launch per call: the kernel gathers the (zero-padded) tiles and crops the output.
    std::vector<Launch> launches;
    launches.push_back(impl_->launch(kWinograd)
                           .scalar("mode", kmode)
                           .scalar("bits", bits)
                           .scalar("m", s.m)
                           .scalar("batch", static_cast<int64_t>(s.batch))
                           .scalar("channels", static_cast<int64_t>(s.channels))
                           .scalar("h", static_cast<int64_t>(s.h))
                           .scalar("w", static_cast<int64_t>(s.w))
                           .scalar("ho", static_cast<int64_t>(s.ho))
                           .scalar("wo", static_cast<int64_t>(s.wo))
                           .scalar("pad_top", static_cast<int64_t>(s.pad_top))
                           .scalar("pad_left", static_cast<int64_t>(s.pad_left))
                           .input("in", in, mpc::winograd_in_words(mode, s))
                           .output("out", out, mpc::winograd_out_words(mode, s)));
    impl_->execute(kWinograd, launches);
    cycles = k::winograd_transform_cycles<WinogradCfg>(kmode, uint64_t(s.m), uint64_t(s.batch) * s.channels, s.ho,
                                                       s.wo);
  }
  impl_->record("winograd_transform", tiles, cycles);
}

void XrtBackend::dcf_eval(int party, int depth, size_t n, const uint64_t* keys, const uint64_t* x, uint64_t* out) {
  check("dcf_eval", k::dcf_eval_arg_error(party, depth),
        "party=" + std::to_string(party) + ", depth=" + std::to_string(depth));
  // Kernels do not throw: every key header is checked on the host before any launch.
  mpc::dcf_check_keys(party, depth, n, keys, "xrt backend: dcf_eval");
  const size_t kw = k::dcf_key_words(depth);
  // Launches start on packed-word boundaries.
  const size_t limit = size_t(hls::block64_limit(impl_->batch_limit(DcfCfg::max_batch)));
  std::vector<Launch> launches;
  uint64_t cycles = 0;
  hls::for_each_launch(n, limit, [&](size_t o, size_t len) {
    launches.push_back(impl_->launch(kDcf)
                           .scalar("party", party)
                           .scalar("depth", depth)
                           .scalar("n", static_cast<int64_t>(len))
                           .input("keys", keys + o * kw, len * kw)
                           .input("x", x + o, len)
                           .output("out", out + o / 64, (len + 63) / 64));
    cycles += k::dcf_eval_cycles<DcfCfg>(len, depth);
  });
  impl_->execute(kDcf, launches);
  impl_->record("dcf_eval", n, cycles);
}

}  // namespace polympc::host
