// s3bench: S3 load against a running `mosaic dev` (bench/load/README.md).
//
// PUTs, then GETs, then DELETEs COUNT distinct objects of SIZE random bytes over LANES
// kept-alive connections (one thread each), checks every status and length, and prints per
// operation MiB/s, ops/s, p50/p99 latency and the CPU seconds per GiB of the gateway, the
// nodes (from /proc/PID/stat of the processes in DIR/dev.json) and this client.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "bench/load/s3bench_lane.h"
#include "common/aligned_buffer.h"

namespace mosaic::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Dev {
  S3Target target;
  int gateway_pid = 0;
  std::vector<int> node_pids;
};

Dev LoadDev(const std::string& dir) {
  Dev dev;
  std::ifstream env(dir + "/dev.env");
  for (std::string line; std::getline(env, line);) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string name = line.substr(0, eq), value = line.substr(eq + 1);
    if (name == "AWS_ACCESS_KEY_ID") dev.target.access_key = value;
    if (name == "AWS_SECRET_ACCESS_KEY") dev.target.secret_key = value;
  }
  std::ifstream json_file(dir + "/dev.json");
  std::stringstream text;
  text << json_file.rdbuf();
  boost::json::object root = boost::json::parse(text.str()).as_object();
  std::string endpoint(root.at("endpoint").as_string());  // http://127.0.0.1:PORT
  std::string host_port = endpoint.substr(endpoint.find("//") + 2);
  dev.target.host = host_port.substr(0, host_port.rfind(':'));
  dev.target.port = host_port.substr(host_port.rfind(':') + 1);
  for (const auto& p : root.at("processes").as_array()) {
    int pid = static_cast<int>(p.at("pid").as_int64());
    if (p.at("role").as_string() == "gateway") dev.gateway_pid = pid;
    if (p.at("role").as_string() == "node") dev.node_pids.push_back(pid);
  }
  return dev;
}

// utime + stime of a process, in seconds (0 if it is gone).
double CpuSeconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / double(sysconf(_SC_CLK_TCK));
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](timeval t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

std::string StatusField(int pid, const std::string& name) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(name + ":", 0) == 0) return line.substr(name.size() + 1);
  }
  return "?";
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// Object `index`'s bytes: splitmix64 from (seed, index), so a GET can check them cheaply.
void FillObject(ByteSpan out, uint64_t seed, uint64_t index) {
  uint64_t x = seed ^ (index * 0x9E3779B97F4A7C15ull);
  size_t i = 0;
  for (; i + 8 <= out.size(); i += 8) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::memcpy(out.data() + i, &z, 8);
  }
  for (; i < out.size(); ++i) out[i] = std::byte(index + i);
}

struct Options {
  std::string dir;
  std::string bucket = "s3bench";
  uint64_t size = 64 << 10;
  int count = 200;
  int lanes = 8;
  int runs = 1;
  bool verify = false;
  bool keep = false;
  bool signed_payload = false;
  std::string perf_phase;  // "put", "get" or "delete": `perf record` the gateway during it
  std::string perf_file;
};

// `perf record -g -a` while one phase of the first run lasts (--perf-record).
class PerfRecord {
 public:
  PerfRecord(int gateway_pid, const std::string& file) {
    const std::string pid = std::to_string(gateway_pid);
    pid_ = fork();
    if (pid_ == 0) {
      // System-wide: `-p` would miss the threads the gateway starts for the phase's connections.
      execlp("perf", "perf", "record", "-q", "-F", "999", "-g", "-a", "-o", file.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let it attach
    std::printf("perf record -a into %s; the gateway is pid %s (perf report --pid %s)\n",
                file.c_str(), pid.c_str(), pid.c_str());
  }
  ~PerfRecord() {
    if (pid_ <= 0) return;
    kill(pid_, SIGINT);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  PerfRecord(const PerfRecord&) = delete;
  PerfRecord& operator=(const PerfRecord&) = delete;

 private:
  pid_t pid_ = -1;
};

struct Result {
  double wall_s = 0, ops = 0, bytes = 0, gateway_cpu = 0, nodes_cpu = 0, client_cpu = 0;
  std::vector<double> latencies_ms;
  int errors = 0;
  std::string first_error;
  std::optional<double> p50_ms, p99_ms;  // set on medians, which have no latencies of their own

  double MiBps() const { return bytes / (1 << 20) / wall_s; }
  double OpsPerS() const { return ops / wall_s; }
  double Percentile(double p) const {
    if (p == 0.5 && p50_ms) return *p50_ms;
    if (p == 0.99 && p99_ms) return *p99_ms;
    if (latencies_ms.empty()) return 0;
    std::vector<double> v = latencies_ms;
    size_t at = std::min(v.size() - 1, size_t(p * double(v.size())));
    std::nth_element(v.begin(), v.begin() + at, v.end());
    return v[at];
  }
  double PerGiB(double cpu) const { return bytes > 0 ? cpu / (bytes / (1 << 30)) : 0; }
};

enum class Op { kPut, kGet, kDelete };

struct Run {
  const Options& o;
  const Dev& dev;
  uint64_t seed;
  std::string prefix;

  std::string Path(int i) const { return "/" + o.bucket + "/" + prefix + std::to_string(i); }

  // One request; "" if it did what it should.
  std::string Do(S3Lane& lane, Op op, int i, AlignedBuffer& data, AlignedBuffer& scratch) const {
    S3Reply r;
    if (op == Op::kPut) {
      FillObject(data.span(), seed, uint64_t(i));
      r = lane.Put(Path(i), data.span());
      if (r.status == 200) return r.error;
    } else if (op == Op::kGet) {
      if (o.verify) FillObject(data.span(), seed, uint64_t(i));
      r = lane.Get(Path(i), scratch.span(), o.verify ? data.span() : ConstByteSpan{});
      if (r.status == 200 && r.body_bytes == o.size) return r.error;
    } else {
      r = lane.Delete(Path(i));
      if (r.status == 204) return r.error;
    }
    return "status " + std::to_string(r.status) + ", " + std::to_string(r.body_bytes) +
           " body bytes: " + r.error;
  }

  void Lane(Op op, std::atomic<int>& next, Result& out, std::mutex& mu) const {
    S3Lane lane(dev.target);
    AlignedBuffer data = AlignedBuffer::Uninitialized(o.size);
    AlignedBuffer scratch = AlignedBuffer::Uninitialized(std::min<uint64_t>(o.size, 1 << 20));
    std::vector<double> latencies;
    for (int i; (i = next++) < o.count;) {
      auto start = Clock::now();
      std::string error = Do(lane, op, i, data, scratch);
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      if (error.empty()) continue;
      std::lock_guard lock(mu);
      if (out.errors++ == 0) out.first_error = Path(i) + ": " + error;
    }
    std::lock_guard lock(mu);
    out.latencies_ms.insert(out.latencies_ms.end(), latencies.begin(), latencies.end());
  }

  Result Phase(Op op) const {
    Result r;
    double gw0 = CpuSeconds(dev.gateway_pid), nodes0 = 0, self0 = SelfCpuSeconds();
    for (int pid : dev.node_pids) nodes0 += CpuSeconds(pid);
    auto start = Clock::now();
    std::atomic<int> next{0};
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int l = 0; l < o.lanes; ++l) threads.emplace_back([&] { Lane(op, next, r, mu); });
    for (auto& t : threads) t.join();
    r.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    r.gateway_cpu = CpuSeconds(dev.gateway_pid) - gw0;
    for (int pid : dev.node_pids) r.nodes_cpu += CpuSeconds(pid);
    r.nodes_cpu -= nodes0;
    r.client_cpu = SelfCpuSeconds() - self0;
    r.bytes = double(o.size) * double(o.count);
    r.ops = double(o.count);
    return r;
  }
};

void Print(const char* name, const Result& r) {
  std::printf(
      "%-6s %9.1f MiB/s %9.1f ops/s  p50 %8.2f ms  p99 %8.2f ms  CPU-s/GiB: gateway %6.2f "
      "nodes %6.2f client %5.2f  errors %d%s%s\n",
      name, r.MiBps(), r.OpsPerS(), r.Percentile(0.50), r.Percentile(0.99), r.PerGiB(r.gateway_cpu),
      r.PerGiB(r.nodes_cpu), r.PerGiB(r.client_cpu), r.errors, r.errors ? ": " : "",
      r.first_error.c_str());
  std::fflush(stdout);
}

// The median of each figure over the runs (separately: a row need not be one run).
Result Median(std::vector<Result> runs) {
  auto med = [&](auto field) {
    std::vector<double> v;
    for (const Result& r : runs) v.push_back(field(r));
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  Result m;
  m.bytes = runs[0].bytes;
  m.ops = runs[0].ops;
  m.wall_s = med([](const Result& r) { return r.wall_s; });
  m.gateway_cpu = med([](const Result& r) { return r.gateway_cpu; });
  m.nodes_cpu = med([](const Result& r) { return r.nodes_cpu; });
  m.client_cpu = med([](const Result& r) { return r.client_cpu; });
  m.p50_ms = med([](const Result& r) { return r.Percentile(0.5); });
  m.p99_ms = med([](const Result& r) { return r.Percentile(0.99); });
  for (const Result& r : runs) m.errors += r.errors;
  return m;
}

int Main(const Options& o) {
  Dev dev = LoadDev(o.dir);
  dev.target.signed_payload = o.signed_payload;
  S3Lane setup(dev.target);
  S3Reply made = setup.Put("/" + o.bucket, {});
  if (made.status != 200 && made.status != 409) {
    std::fprintf(stderr, "s3bench: cannot create bucket %s: %d %s\n", o.bucket.c_str(), made.status,
                 made.error.c_str());
    return 1;
  }
  std::printf("s3bench: %d x %llu bytes, %d lanes, %s payload, load average %s\n", o.count,
              static_cast<unsigned long long>(o.size), o.lanes,
              dev.target.signed_payload ? "signed" : "UNSIGNED", LoadAverage().c_str());
  std::vector<Result> by_op[3];
  const char* names[3] = {"PUT", "GET", "DELETE"};
  const char* phase_names[3] = {"put", "get", "delete"};
  int errors = 0;
  for (int run = 0; run < o.runs; ++run) {
    Run r{o, dev, uint64_t(Clock::now().time_since_epoch().count()),
          "o" + std::to_string(Clock::now().time_since_epoch().count() % 1000000007) + "-"};
    for (Op op : {Op::kPut, Op::kGet, Op::kDelete}) {
      if (op == Op::kDelete && o.keep) continue;
      std::optional<PerfRecord> perf;
      if (run == 0 && o.perf_phase == phase_names[int(op)])
        perf.emplace(dev.gateway_pid, o.perf_file);
      Result res = r.Phase(op);
      perf.reset();
      errors += res.errors;
      Print(names[int(op)], res);
      by_op[int(op)].push_back(std::move(res));
    }
  }
  if (o.runs > 1) {
    std::printf("median of %d runs:\n", o.runs);
    for (int op = 0; op < 3; ++op) {
      if (!by_op[op].empty()) Print(names[op], Median(by_op[op]));
    }
  }
  std::printf("gateway VmHWM%s, load average %s\n", StatusField(dev.gateway_pid, "VmHWM").c_str(),
              LoadAverage().c_str());
  return errors == 0 ? 0 : 2;
}

}  // namespace
}  // namespace mosaic::bench

int main(int argc, char** argv) {
  mosaic::bench::Options o;
  CLI::App app{"S3 load against a running `mosaic dev` (PUT, GET, DELETE; bench/load/README.md)"};
  app.add_option("--dev", o.dir, "The `mosaic dev --dir` folder (dev.env, dev.json)")->required();
  app.add_option("--bucket", o.bucket, "Bucket (created if missing)")->capture_default_str();
  app.add_option("--size", o.size, "Object size in bytes")->capture_default_str();
  app.add_option("--count", o.count, "Objects per run")->capture_default_str();
  app.add_option("--lanes", o.lanes, "Kept-alive connections, one thread each")
      ->capture_default_str();
  app.add_option("--runs", o.runs, "Runs; with more than one, medians are printed too")
      ->capture_default_str();
  app.add_flag("--signed-payload", o.signed_payload,
               "Sign the body's SHA-256 instead of UNSIGNED-PAYLOAD (costs the client a hash)");
  app.add_flag("--verify", o.verify, "Compare every GET's bytes with what was PUT");
  app.add_flag("--keep", o.keep, "Do not DELETE the objects");
  std::string perf;
  app.add_option("--perf-record", perf,
                 "PHASE:FILE: `perf record -F 999 -g -a` into FILE during the first run's PHASE "
                 "(put, get or delete); the gateway's pid is printed");
  CLI11_PARSE(app, argc, argv);
  if (!perf.empty()) {
    const size_t colon = perf.find(':');
    o.perf_phase = perf.substr(0, colon);
    if (colon != std::string::npos) o.perf_file = perf.substr(colon + 1);
    if (o.perf_file.empty() ||
        (o.perf_phase != "put" && o.perf_phase != "get" && o.perf_phase != "delete")) {
      std::fprintf(stderr, "s3bench: --perf-record takes put:FILE, get:FILE or delete:FILE\n");
      return 1;
    }
  }
  if (o.lanes < 1 || o.count < 1 || o.runs < 1) {
    std::fprintf(stderr, "s3bench: --lanes, --count and --runs must be at least 1\n");
    return 1;
  }
  try {
    return mosaic::bench::Main(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "s3bench: %s\n", e.what());
    return 1;
  }
}
