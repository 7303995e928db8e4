#include "polympc/nn/winograd.h"

#include <functional>
#include <sstream>

#include "polympc/mpc/plaintext.h"
#include "polympc/nn/placement.h"

namespace polympc::nn {

namespace {
// Lavin & Gray 2016, §4.1: F(2×2,3×3). Ĝ = 2·G.
constexpr int64_t kBt2[4 * 4] = {
    1, 0, -1, 0,  //
    0, 1, 1, 0,   //
    0, -1, 1, 0,  //
    0, 1, 0, -1};
constexpr int64_t kG2[4 * 3] = {
    2, 0, 0,  //
    1, 1, 1,  //
    1, -1, 1,  //
    0, 0, 2};
constexpr int64_t kAt2[2 * 4] = {
    1, 1, 1, 0,  //
    0, 1, -1, -1};

// Lavin & Gray 2016, §4.2: F(4×4,3×3). Ĝ = 24·G (G's rows: 1/4 0 0; −1/6 −1/6 −1/6;
// −1/6 1/6 −1/6; 1/24 1/12 1/6; 1/24 −1/12 1/6; 0 0 1).
constexpr int64_t kBt4[6 * 6] = {
    4, 0, -5, 0, 1, 0,    //
    0, -4, -4, 1, 1, 0,   //
    0, 4, -4, -1, 1, 0,   //
    0, -2, -1, 2, 1, 0,   //
    0, 2, -1, -2, 1, 0,   //
    0, 4, 0, -5, 0, 1};
constexpr int64_t kG4[6 * 3] = {
    6, 0, 0,     //
    -4, -4, -4,  //
    -4, 4, -4,   //
    1, 2, 4,     //
    1, -2, 4,    //
    0, 0, 24};
constexpr int64_t kAt4[4 * 6] = {
    1, 1, 1, 1, 1, 0,    //
    0, 1, -1, 2, -2, 0,  //
    0, 1, 1, 4, 4, 0,    //
    0, 1, -1, 8, -8, 1};

constexpr int kAlphaMax = 6;

// round(n / d) to nearest, ties away from zero (d > 0, |n| < 2^62).
int64_t round_div(int64_t n, int64_t d) {
  const int64_t q = n / d, rem = n % d;  // truncates toward zero
  if (2 * (rem < 0 ? -rem : rem) >= d) return n >= 0 ? q + 1 : q - 1;
  return q;
}

// a·b + c in int64, false on overflow.
bool mul_add(int64_t a, int64_t b, int64_t c, int64_t* out) {
  int64_t p = 0;
  return !__builtin_mul_overflow(a, b, &p) && !__builtin_add_overflow(p, c, out);
}

// t = L^T-style transform of one α×α (or rows×α) tile: out = P · in · Q^T with P rows×α,
// Q cols×α, all mod 2^64 (the caller masks).
void sandwich(const int64_t* p, int rows, const int64_t* q, int cols, int alpha, const uint64_t* in,
              uint64_t* out) {
  uint64_t tmp[kAlphaMax * kAlphaMax];
  for (int i = 0; i < rows; ++i)
    for (int b = 0; b < alpha; ++b) {
      uint64_t acc = 0;
      for (int a = 0; a < alpha; ++a) acc += static_cast<uint64_t>(p[i * alpha + a]) * in[a * alpha + b];
      tmp[i * alpha + b] = acc;
    }
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      uint64_t acc = 0;
      for (int b = 0; b < alpha; ++b) acc += tmp[i * alpha + b] * static_cast<uint64_t>(q[j * alpha + b]);
      out[i * cols + j] = acc;
    }
}
}  // namespace

bool WinogradForm::exact() const {
  const int64_t g2 = g_scale * g_scale;
  return u_frac >= 0 && u_frac < 62 && ((int64_t{1} << u_frac) % g2) == 0;
}

WinogradForm winograd_form(int m, int u_frac) {
  if (u_frac > 30)
    throw mpc::InvalidArgument("winograd_form: u_frac = " + std::to_string(u_frac) + " is above 30");
  WinogradForm F;
  if (m == 2) {
    F.m = 2;
    F.alpha = 4;
    F.g_scale = 2;
    F.u_frac = u_frac < 0 ? 2 : u_frac;
    F.bt = kBt2;
    F.g = kG2;
    F.at = kAt2;
  } else if (m == 4) {
    F.m = 4;
    F.alpha = 6;
    F.g_scale = 24;
    F.u_frac = u_frac < 0 ? kWinograd4UFrac : u_frac;
    F.bt = kBt4;
    F.g = kG4;
    F.at = kAt4;
  } else {
    throw mpc::InvalidArgument("winograd_form: F(" + std::to_string(m) + "x" + std::to_string(m) +
                               ",3x3) is not implemented (m = 2 or 4)");
  }
  return F;
}

bool winograd_applicable(const Layer& conv) {
  return conv.op == OpKind::Conv && conv.kernel_h == 3 && conv.kernel_w == 3 && conv.stride_h == 1 &&
         conv.stride_w == 1 && conv.weight_shape.size() == 4;
}

WinogradGeometry winograd_geometry(const Layer& conv, const std::vector<int64_t>& in_shape, int m) {
  if (!winograd_applicable(conv))
    throw ModelError("layer '" + conv.name + "': Winograd F(" + std::to_string(m) + "x" + std::to_string(m) +
                     ",3x3) needs a 3x3 stride-1 convolution");
  if (in_shape.size() != 3 || conv.out_shape.size() != 3)
    throw ModelError("layer '" + conv.name + "' (Conv): input " + shape_str(in_shape) + " or output " +
                     shape_str(conv.out_shape) + " is not [C, H, W]");
  if (m != 2 && m != 4)
    throw ModelError("layer '" + conv.name + "': Winograd F(" + std::to_string(m) + "x" + std::to_string(m) +
                     ",3x3) is not implemented (m = 2 or 4)");
  WinogradGeometry g;
  g.C = in_shape[0];
  g.H = in_shape[1];
  g.W = in_shape[2];
  g.M = conv.out_shape[0];
  g.Ho = conv.out_shape[1];
  g.Wo = conv.out_shape[2];
  g.pad_top = conv.pad_top;
  g.pad_left = conv.pad_left;
  g.tiles_h = (g.Ho + m - 1) / m;
  g.tiles_w = (g.Wo + m - 1) / m;
  return g;
}

mpc::Words winograd_weights(const mpc::RingConfig& r, const WinogradForm& F, const mpc::Words& w, size_t M,
                            size_t C) {
  if (w.size() != M * C * 9)
    throw mpc::InvalidArgument("winograd_weights: " + std::to_string(w.size()) + " weights, [M, C, 3, 3] = " +
                               std::to_string(M * C * 9));
  const int a = F.alpha;
  const int64_t d = F.g_scale * F.g_scale;
  auto overflow = [&] {
    return mpc::OverflowError("winograd_weights: a transformed weight at scale f + " + std::to_string(F.u_frac) +
                              " does not fit the l = " + std::to_string(r.bits) + " bit ring");
  };
  const bool exact = F.exact();
  const uint64_t factor = exact ? static_cast<uint64_t>((int64_t{1} << F.u_frac) / d) : 0;
  mpc::Words u(static_cast<size_t>(a * a) * M * C);
  for (size_t mo = 0; mo < M; ++mo)
    for (size_t c = 0; c < C; ++c) {
      const uint64_t* k = w.data() + (mo * C + c) * 9;
      int64_t gk[kAlphaMax * 3];  // Ĝ g
      if (exact) {  // Ĝ g Ĝ^T · 2^u_frac / g_scale² in ring arithmetic: an integer identity mod 2^l
        for (int xi = 0; xi < a; ++xi)
          for (int nu = 0; nu < a; ++nu) {
            uint64_t s = 0;
            for (int i = 0; i < 3; ++i)
              for (int j = 0; j < 3; ++j)
                s += static_cast<uint64_t>(F.g[xi * 3 + i] * F.g[nu * 3 + j]) * k[i * 3 + j];
            u[(static_cast<size_t>(xi * a + nu) * M + mo) * C + c] = (s * factor) & r.mask();
          }
        continue;
      }
      for (int xi = 0; xi < a; ++xi)
        for (int j = 0; j < 3; ++j) {
          int64_t s = 0;
          for (int i = 0; i < 3; ++i)
            if (!mul_add(F.g[xi * 3 + i], r.to_signed(k[i * 3 + j]), s, &s)) throw overflow();
          gk[xi * 3 + j] = s;
        }
      for (int xi = 0; xi < a; ++xi)
        for (int nu = 0; nu < a; ++nu) {
          int64_t s = 0;  // (Ĝ g Ĝ^T)[ξ][ν]
          for (int j = 0; j < 3; ++j)
            if (!mul_add(gk[xi * 3 + j], F.g[nu * 3 + j], s, &s)) throw overflow();
          int64_t scaled = 0;
          if (!mul_add(s, int64_t{1} << F.u_frac, 0, &scaled) || scaled >= (int64_t{1} << 62) ||
              scaled <= -(int64_t{1} << 62))
            throw overflow();
          const int64_t v = round_div(scaled, d);
          if (v > r.max_signed() || v < r.min_signed()) throw overflow();
          u[(static_cast<size_t>(xi * a + nu) * M + mo) * C + c] = r.from_signed(v);
        }
    }
  return u;
}

mpc::Words winograd_input(const mpc::RingConfig& r, const WinogradForm& F, const WinogradGeometry& g, size_t batch,
                          const mpc::Words& x) {
  const int64_t N = static_cast<int64_t>(batch);
  if (static_cast<int64_t>(x.size()) != N * g.C * g.H * g.W)
    throw mpc::InvalidArgument("winograd_input: " + std::to_string(x.size()) + " words for a batch of " +
                               std::to_string(N) + " x [" + std::to_string(g.C) + ", " + std::to_string(g.H) +
                               ", " + std::to_string(g.W) + "]");
  const int a = F.alpha, m = F.m;
  const int64_t T = g.tiles(), cols = N * T;
  mpc::Words v(static_cast<size_t>(a * a * g.C * cols));
  uint64_t d[kAlphaMax * kAlphaMax], t[kAlphaMax * kAlphaMax];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < g.C; ++c) {
      const uint64_t* img = x.data() + (n * g.C + c) * g.H * g.W;
      for (int64_t ty = 0; ty < g.tiles_h; ++ty)
        for (int64_t tx = 0; tx < g.tiles_w; ++tx) {
          for (int i = 0; i < a; ++i)
            for (int j = 0; j < a; ++j) {
              const int64_t yy = ty * m - g.pad_top + i, xx = tx * m - g.pad_left + j;
              d[i * a + j] = (yy < 0 || yy >= g.H || xx < 0 || xx >= g.W) ? 0 : img[yy * g.W + xx];
            }
          sandwich(F.bt, a, F.bt, a, a, d, t);  // B^T d B
          const int64_t col = n * T + ty * g.tiles_w + tx;
          for (int p = 0; p < a * a; ++p) v[static_cast<size_t>((p * g.C + c) * cols + col)] = t[p] & r.mask();
        }
    }
  return v;
}

mpc::Words winograd_output(const mpc::RingConfig& r, const WinogradForm& F, const WinogradGeometry& g, size_t batch,
                           const mpc::Words& prod) {
  const int64_t N = static_cast<int64_t>(batch);
  const int a = F.alpha, m = F.m;
  const int64_t T = g.tiles(), cols = N * T, S = g.Ho * g.Wo;
  if (static_cast<int64_t>(prod.size()) != a * a * g.M * cols)
    throw mpc::InvalidArgument("winograd_output: " + std::to_string(prod.size()) + " words, [alpha^2, M, N*T] = " +
                               std::to_string(a * a * g.M * cols));
  mpc::Words y(static_cast<size_t>(g.M * N * S));
  uint64_t t[kAlphaMax * kAlphaMax], o[kAlphaMax * kAlphaMax];
  for (int64_t mo = 0; mo < g.M; ++mo)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t ty = 0; ty < g.tiles_h; ++ty)
        for (int64_t tx = 0; tx < g.tiles_w; ++tx) {
          const int64_t col = n * T + ty * g.tiles_w + tx;
          for (int p = 0; p < a * a; ++p) t[p] = prod[static_cast<size_t>((p * g.M + mo) * cols + col)];
          sandwich(F.at, m, F.at, m, a, t, o);  // A^T t A
          for (int i = 0; i < m; ++i)
            for (int j = 0; j < m; ++j) {
              const int64_t oy = ty * m + i, ox = tx * m + j;
              if (oy < g.Ho && ox < g.Wo) y[static_cast<size_t>(mo * N * S + n * S + oy * g.Wo + ox)] = o[i * m + j] & r.mask();
            }
        }
  return y;
}

mpc::Words winograd_conv(const mpc::RingConfig& r, const WinogradForm& F, const WinogradGeometry& g, size_t batch,
                         const mpc::Words& u, const mpc::Words& x) {
  const size_t P = static_cast<size_t>(F.alpha * F.alpha), M = static_cast<size_t>(g.M),
               C = static_cast<size_t>(g.C), cols = batch * static_cast<size_t>(g.tiles());
  if (u.size() != P * M * C)
    throw mpc::InvalidArgument("winograd_conv: " + std::to_string(u.size()) + " transformed weights, [alpha^2, M, C] = " +
                               std::to_string(P * M * C));
  const mpc::Words v = winograd_input(r, F, g, batch, x);
  mpc::Words prod(P * M * cols);
  for (size_t p = 0; p < P; ++p) {
    const mpc::Words up(u.begin() + static_cast<long>(p * M * C), u.begin() + static_cast<long>((p + 1) * M * C));
    const mpc::Words vp(v.begin() + static_cast<long>(p * C * cols), v.begin() + static_cast<long>((p + 1) * C * cols));
    const mpc::Words z = mpc::plain::matmul(r, up, vp, M, C, cols);
    std::copy(z.begin(), z.end(), prod.begin() + static_cast<long>(p * M * cols));
  }
  return winograd_output(r, F, g, batch, prod);
}

namespace {

// The items of a --winograd spec, in order; `fits` decides "auto" (null: "auto" refused).
int apply_winograd_items(Network& net, const std::string& spec, const std::function<bool()>* fits) {
  auto form_of = [&](const std::string& item, const std::string& v) {
    if (v == "0" || v == "2" || v == "4") return std::stoi(v);
    throw mpc::InvalidArgument("--winograd " + item + ": the form must be 0 (direct), 2 or 4");
  };
  std::stringstream in(spec);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t eq = item.find('=');
    if (eq != std::string::npos) {
      const std::string name = item.substr(0, eq);
      const int m = form_of(item, item.substr(eq + 1));
      bool found = false;
      for (Layer& L : net.layers)
        if (L.name == name && L.op == OpKind::Conv) {
          L.winograd = m;
          found = true;
        }
      if (!found) throw mpc::InvalidArgument("--winograd " + item + ": the network has no Conv layer '" + name + "'");
    } else if (item == "off" || item == "2" || item == "4") {
      const int m = item == "off" ? 0 : std::stoi(item);
      for (Layer& L : net.layers)
        if (L.op == OpKind::Conv) L.winograd = winograd_applicable(L) ? m : 0;
    } else if (item == "auto") {
      if (fits == nullptr)
        throw mpc::InvalidArgument(
            "--winograd auto depends on the ring and the truncation, which this command does not take: give the "
            "forms explicitly (2, 4 or LAYER=0|2|4)");
      for (Layer& L : net.layers) {
        if (!winograd_applicable(L)) continue;
        L.winograd = 4;
        if ((*fits)()) continue;
        L.winograd = 2;
        if ((*fits)()) continue;
        L.winograd = 0;
      }
    } else {
      throw mpc::InvalidArgument("--winograd '" + item + "': expected auto, off, 2, 4 or LAYER=0|2|4");
    }
  }
  net.infer_shapes();
  int n = 0;
  for (const Layer& L : net.layers) n += L.op == OpKind::Conv && L.winograd != 0;
  return n;
}

}  // namespace

int apply_winograd(Network& net, const std::string& spec, const mpc::RingConfig& r, const mpc::ProtocolOptions& o,
                   int coef_frac) {
  const std::function<bool()> fits = [&] {
    try {
      plan_scales(net, r, o, coef_frac);
      return true;
    } catch (const mpc::InvalidArgument&) {
      return false;
    }
  };
  const int n = apply_winograd_items(net, spec, &fits);
  plan_scales(net, r, o, coef_frac);
  return n;
}

int set_winograd(Network& net, const std::string& spec) { return apply_winograd_items(net, spec, nullptr); }

int64_t winograd_multiplications(const WinogradGeometry& g, int m) {
  const int64_t a = m + 2;
  return a * a * g.M * g.C * g.tiles();
}

mpc::WinogradShape winograd_backend_shape(const WinogradGeometry& g, int m, size_t batch, bool input) {
  mpc::WinogradShape s;
  s.m = m;
  s.batch = batch;
  s.channels = static_cast<size_t>(input ? g.C : g.M);
  s.h = static_cast<size_t>(g.H);
  s.w = static_cast<size_t>(g.W);
  s.ho = static_cast<size_t>(g.Ho);
  s.wo = static_cast<size_t>(g.Wo);
  s.pad_top = static_cast<size_t>(g.pad_top);
  s.pad_left = static_cast<size_t>(g.pad_left);
  return s;
}

}  // namespace polympc::nn
