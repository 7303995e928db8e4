// Metadata-only xclbin writer (see xclbin_writer.h) and the run-time kernel description.
#include "polympc/host/xclbin_writer.h"

#include <xclbin.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "polympc/host/errors.h"

namespace polympc::host {

std::vector<KernelDesc> described_kernels() {
  std::vector<KernelDesc> out;
  for (uint32_t i = 0; i < hls::kNumKernels; ++i) {
    const hls::KernelSig& s = hls::kKernelTable[i];
    KernelDesc k;
    k.name = s.name;
    k.compute_units = s.compute_units;
    for (uint32_t a = 0; a < s.num_args; ++a)
      k.args.push_back({s.args[a].name, s.args[a].type, s.args[a].kind, s.args[a].size, s.args[a].bundle});
    out.push_back(std::move(k));
  }
  return out;
}

namespace {

constexpr uint64_t kCuBase = 0x1800000;  // first CU's AXI-lite base address
constexpr uint64_t kCuRange = 0x10000;   // 64 KiB of address space per CU
constexpr uint64_t kFirstArgOffset = 0x10;
constexpr uint64_t kControlRange = 0x1000;

std::string hex(uint64_t v) {
  std::ostringstream o;
  o << "0x" << std::uppercase << std::hex << v;
  return o.str();
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string port_of(const ArgDesc& a) { return a.is_buffer() ? "M_AXI_" + upper(a.bundle) : "S_AXI_CONTROL"; }

/// EMBEDDED_METADATA: the XML XRT reads at project/platform/device/core/kernel.
std::string metadata_xml(const std::vector<KernelDesc>& kernels, const MetadataXclbinOptions& opt) {
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<project name=\"polympc\">\n"
    << "  <platform vendor=\"xilinx\" boardid=\"polympc\" name=\"" << xml_escape(opt.platform)
    << "\" featureRomTime=\"0\">\n"
    << "    <version major=\"1\" minor=\"0\"/>\n"
    << "    <description>metadata-only xclbin for XRT's noop device, generated from hls/kernels.json"
       "</description>\n"
    << "    <device name=\"fpga0\" fpgaDevice=\"noop\" addrWidth=\"64\">\n"
    << "      <core name=\"OCL_REGION_0\" target=\"bitstream\" type=\"clc_region\" clockFreq=\"300MHz\">\n";
  uint64_t cu_index = 0;
  for (const KernelDesc& k : kernels) {
    x << "        <kernel name=\"" << k.name << "\" language=\"c\" vlnv=\"xilinx.com:hls:" << k.name
      << ":1.0\" preferredWorkGroupSizeMultiple=\"0\" workGroupSize=\"1\" interrupt=\"true\""
         " hwControlProtocol=\"ap_ctrl_hs\">\n";
    std::set<std::string> bundles;
    for (const ArgDesc& a : k.args)
      if (a.is_buffer() && bundles.insert(a.bundle).second)
        x << "          <port name=\"" << port_of(a)
          << "\" mode=\"master\" range=\"0xFFFFFFFFFFFFFFFF\" dataWidth=\"512\" portType=\"addressable\""
             " base=\"0x0\"/>\n";
    x << "          <port name=\"S_AXI_CONTROL\" mode=\"slave\" range=\"" << hex(kControlRange)
      << "\" dataWidth=\"32\" portType=\"addressable\" base=\"0x0\"/>\n";
    // Register map as Vitis HLS lays it out: from 0x10, 8 bytes per 32-bit scalar,
    // 12 bytes per 64-bit value (address or uint64_t).
    uint64_t offset = kFirstArgOffset;
    for (size_t i = 0; i < k.args.size(); ++i) {
      const ArgDesc& a = k.args[i];
      x << "          <arg name=\"" << a.name << "\" addressQualifier=\"" << (a.is_buffer() ? 1 : 0)
        << "\" id=\"" << i << "\" port=\"" << port_of(a) << "\" size=\"" << hex(a.size) << "\" offset=\""
        << hex(offset) << "\" hostOffset=\"0x0\" hostSize=\"" << hex(a.size) << "\" type=\""
        << xml_escape(a.type) << "\"/>\n";
      offset += a.size > 4 ? 12 : 8;
    }
    for (uint32_t c = 1; c <= k.compute_units; ++c, ++cu_index)
      x << "          <instance name=\"" << k.name << "_" << c << "\">\n"
        << "            <addrRemap base=\"" << hex(kCuBase + cu_index * kCuRange) << "\" range=\""
        << hex(kCuRange) << "\" port=\"S_AXI_CONTROL\"/>\n"
        << "          </instance>\n";
    x << "        </kernel>\n";
  }
  x << "      </core>\n    </device>\n  </platform>\n</project>\n";
  return x.str();
}

/// Copies `s` into a fixed, NUL-terminated char field; throws when it does not fit.
template <size_t N, class C>
void put_name(C (&field)[N], const std::string& s, const char* what) {
  if (s.size() >= N)
    throw XclbinError(std::string(what) + " '" + s + "' is longer than the " + std::to_string(N - 1) +
                      " characters an xclbin allows");
  std::memset(field, 0, N);
  std::memcpy(field, s.data(), s.size());
}

template <class T>
void append_pod(std::vector<char>& out, const T& v) {
  const char* p = reinterpret_cast<const char*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

/// 128-bit FNV-1a of `data` (two 64-bit lanes), as RFC 4122 version-4 layout bytes.
void content_uuid(const std::vector<char>& data, unsigned char out[16]) {
  uint64_t h[2] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t b = static_cast<unsigned char>(data[i]);
    h[0] = (h[0] ^ b) * 0x100000001b3ull;
    h[1] = (h[1] ^ (b + 0x5bull)) * 0x100000001b3ull;
  }
  std::memcpy(out, h, 16);
  out[6] = static_cast<unsigned char>((out[6] & 0x0F) | 0x40);
  out[8] = static_cast<unsigned char>((out[8] & 0x3F) | 0x80);
}

struct Section {
  axlf_section_kind kind;
  const char* name;
  std::vector<char> data;
};

}  // namespace

std::vector<char> make_metadata_xclbin(const std::vector<KernelDesc>& kernels, const MetadataXclbinOptions& opt) {
  if (kernels.empty()) throw XclbinError("cannot write an xclbin without kernels");
  for (const KernelDesc& k : kernels) {
    if (k.compute_units == 0) throw XclbinError("kernel '" + k.name + "' has no compute unit", k.name);
    for (const ArgDesc& a : k.args)
      if (a.is_buffer() && a.bundle.empty())
        throw XclbinError("kernel '" + k.name + "' buffer argument '" + a.name + "' has no m_axi bundle", k.name,
                          a.name);
  }

  // IP_LAYOUT: one entry per CU, sorted by base address (the order they are made in).
  std::vector<char> ips;
  uint32_t n_cus = 0;
  for (const KernelDesc& k : kernels) n_cus += k.compute_units;
  append_pod(ips, static_cast<int32_t>(n_cus));
  ips.resize(offsetof(ip_layout, m_ip_data));
  struct CuRef {
    const KernelDesc* kernel;
    int32_t ip_index;
  };
  std::vector<CuRef> cus;
  for (const KernelDesc& k : kernels) {
    for (uint32_t c = 1; c <= k.compute_units; ++c) {
      ip_data ip;
      std::memset(&ip, 0, sizeof ip);
      ip.m_type = IP_KERNEL;
      ip.properties = (static_cast<uint32_t>(AP_CTRL_HS) << IP_CONTROL_SHIFT) | IP_INT_ENABLE_MASK;
      ip.m_base_address = kCuBase + cus.size() * kCuRange;
      put_name(ip.m_name, k.name + ":" + k.name + "_" + std::to_string(c), "compute unit name");
      cus.push_back({&k, static_cast<int32_t>(cus.size())});
      append_pod(ips, ip);
    }
  }

  // MEM_TOPOLOGY: one DDR4 bank.
  std::vector<char> mems;
  append_pod(mems, int32_t{1});
  mems.resize(offsetof(mem_topology, m_mem_data));
  mem_data md;
  std::memset(&md, 0, sizeof md);
  md.m_type = MEM_DDR4;
  md.m_used = 1;
  md.m_size = opt.memory_size_kb;
  md.m_base_address = 0;
  put_name(md.m_tag, opt.memory_tag, "memory tag");
  append_pod(mems, md);

  // CONNECTIVITY: buffer argument -> CU -> bank 0.
  std::vector<connection> conns;
  for (const CuRef& cu : cus)
    for (size_t i = 0; i < cu.kernel->args.size(); ++i)
      if (cu.kernel->args[i].is_buffer()) conns.push_back({static_cast<int32_t>(i), cu.ip_index, 0});
  std::vector<char> conn;
  append_pod(conn, static_cast<int32_t>(conns.size()));
  conn.resize(offsetof(connectivity, m_connection));
  for (const connection& c : conns) append_pod(conn, c);

  const std::string xml = metadata_xml(kernels, opt);
  std::vector<Section> sections = {
      {EMBEDDED_METADATA, "metadata", std::vector<char>(xml.begin(), xml.end())},
      {IP_LAYOUT, "ip_layout", std::move(ips)},
      {MEM_TOPOLOGY, "mem_topology", std::move(mems)},
      {CONNECTIVITY, "connectivity", std::move(conn)},
  };

  // Layout: axlf (with the first section header), the other headers, then the sections.
  const size_t header_bytes = sizeof(axlf) + (sections.size() - 1) * sizeof(axlf_section_header);
  auto align8 = [](size_t v) { return (v + 7) / 8 * 8; };
  std::vector<size_t> offsets;
  size_t end = align8(header_bytes);
  for (const Section& s : sections) {
    offsets.push_back(end);
    end = align8(end + s.data.size());
  }
  std::vector<char> image(end, 0);
  for (size_t i = 0; i < sections.size(); ++i)
    std::copy(sections[i].data.begin(), sections[i].data.end(), image.begin() + static_cast<std::ptrdiff_t>(offsets[i]));

  axlf top;
  std::memset(&top, 0, sizeof top);
  std::memcpy(top.m_magic, "xclbin2", 8);
  top.m_signature_length = -1;
  std::memset(top.reserved, 0xFF, sizeof top.reserved);
  std::memset(top.m_keyBlock, 0xFF, sizeof top.m_keyBlock);
  top.m_header.m_length = end;
  top.m_header.m_timeStamp = 0;  // deterministic output
  top.m_header.m_versionMajor = 2;
  top.m_header.m_versionMinor = 13;
  top.m_header.m_versionPatch = 0;
  top.m_header.m_mode = XCLBIN_FLAT;
  put_name(top.m_header.m_platformVBNV, opt.platform, "platform name");
  top.m_header.m_numSections = static_cast<uint32_t>(sections.size());
  std::vector<axlf_section_header> headers(sections.size());
  for (size_t i = 0; i < sections.size(); ++i) {
    std::memset(&headers[i], 0, sizeof headers[i]);
    headers[i].m_sectionKind = sections[i].kind;
    put_name(headers[i].m_sectionName, sections[i].name, "section name");
    headers[i].m_sectionOffset = offsets[i];
    headers[i].m_sectionSize = sections[i].data.size();
  }
  top.m_sections[0] = headers[0];
  // The UUID hashes everything but itself (still zero here).
  std::memcpy(image.data(), &top, sizeof top);
  std::memcpy(image.data() + sizeof top, headers.data() + 1, (headers.size() - 1) * sizeof(axlf_section_header));
  unsigned char id[16];
  content_uuid(image, id);
  std::memcpy(&top.m_header.uuid, id, 16);
  std::memcpy(&top.m_uniqueId, id, sizeof top.m_uniqueId);
  std::memcpy(image.data(), &top, sizeof top);
  return image;
}

void write_metadata_xclbin(const std::string& path, const std::vector<KernelDesc>& kernels,
                           const MetadataXclbinOptions& options) {
  const std::vector<char> image = make_metadata_xclbin(kernels, options);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw XclbinError("cannot open '" + path + "' for writing");
  f.write(image.data(), static_cast<std::streamsize>(image.size()));
  f.close();
  if (!f) throw XclbinError("cannot write the xclbin '" + path + "'");
}

}  // namespace polympc::host
