#include "tests/support/node_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "common/crc32c.h"
#include "common/sha256.h"

namespace mosaic::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kPollInterval{5};
constexpr int kMaxMessageBytes = 64 << 20;

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "?";
  }
}

std::string ErrnoMessage(std::string_view what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// Reads "host:port\n" written by the node; empty until the file is complete.
std::string ReadAddressFile(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  return line;
}

std::string DefaultBinary() {
  if (const char* env = std::getenv("MOSAIC_BINARY"); env != nullptr && *env != '\0') return env;
  return MOSAIC_BINARY;
}

std::string MakeWorkDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/var/tmp") +
                        "/mosaic-node-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

}  // namespace

std::string Describe(const grpc::Status& status) {
  std::string out = CodeName(status.error_code());
  if (!status.error_message().empty()) out += ": " + status.error_message();
  return out;
}

// ---------------------------------------------------------------------------------------
// ChunkClient

ChunkClient::ChunkClient(std::shared_ptr<grpc::Channel> channel, std::string token)
    : channel_(std::move(channel)),
      stub_(v1::ChunkService::NewStub(channel_)),
      token_(std::move(token)) {}

template <typename Response, typename Request, typename Method>
Reply<Response> ChunkClient::Call(Method method, const Request& request) const {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline_);
  if (!token_.empty()) context.AddMetadata("authorization", "Bearer " + token_);
  Reply<Response> reply;
  reply.status = (stub_.get()->*method)(&context, request, &reply.response);
  return reply;
}

Reply<v1::PutChunkResponse> ChunkClient::Put(std::string_view id, std::string_view data) const {
  return PutWithCrc(id, data, Crc32c(AsBytes(data)));
}

Reply<v1::PutChunkResponse> ChunkClient::PutWithCrc(std::string_view id, std::string_view data,
                                                    std::optional<uint32_t> crc32c) const {
  v1::PutChunkRequest request;
  request.set_chunk_id(std::string(id));
  request.set_data(std::string(data));
  if (crc32c.has_value()) request.set_crc32c(*crc32c);
  return Call<v1::PutChunkResponse>(&v1::ChunkService::Stub::PutChunk, request);
}

Reply<v1::GetChunkResponse> ChunkClient::Get(std::string_view id, uint64_t offset,
                                             uint64_t length) const {
  v1::GetChunkRequest request;
  request.set_chunk_id(std::string(id));
  request.set_offset(offset);
  request.set_length(length);
  return Call<v1::GetChunkResponse>(&v1::ChunkService::Stub::GetChunk, request);
}

Reply<v1::DeleteChunkResponse> ChunkClient::Delete(std::string_view id) const {
  v1::DeleteChunkRequest request;
  request.set_chunk_id(std::string(id));
  return Call<v1::DeleteChunkResponse>(&v1::ChunkService::Stub::DeleteChunk, request);
}

Reply<v1::ChunkInfo> ChunkClient::Stat(std::string_view id) const {
  v1::StatChunkRequest request;
  request.set_chunk_id(std::string(id));
  return Call<v1::ChunkInfo>(&v1::ChunkService::Stub::StatChunk, request);
}

Reply<v1::ListChunksResponse> ChunkClient::List(std::string_view page_token,
                                                uint32_t page_size) const {
  v1::ListChunksRequest request;
  request.set_page_token(std::string(page_token));
  request.set_page_size(page_size);
  return Call<v1::ListChunksResponse>(&v1::ChunkService::Stub::ListChunks, request);
}

Reply<v1::NodeInfo> ChunkClient::Info() const {
  return Call<v1::NodeInfo>(&v1::ChunkService::Stub::GetNodeInfo, v1::GetNodeInfoRequest());
}

Reply<std::vector<v1::ChunkInfo>> ChunkClient::ListAll(uint32_t page_size, int max_pages) const {
  Reply<std::vector<v1::ChunkInfo>> all;
  std::string token;
  for (int page = 0; page < max_pages; ++page) {
    Reply<v1::ListChunksResponse> reply = List(token, page_size);
    if (!reply.ok()) {
      all.status = reply.status;
      return all;
    }
    for (auto& chunk : *reply.response.mutable_chunks()) all.response.push_back(std::move(chunk));
    if (reply.response.next_page_token().empty()) return all;
    token = reply.response.next_page_token();
  }
  all.status = grpc::Status(grpc::StatusCode::INTERNAL, "ListAll: too many pages");
  return all;
}

// ---------------------------------------------------------------------------------------
// NodeProcess

NodeProcess::NodeProcess(NodeOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<NodeProcess>> NodeProcess::Start(NodeOptions options) {
  if (options.binary.empty()) options.binary = DefaultBinary();
  std::unique_ptr<NodeProcess> node(new NodeProcess(std::move(options)));
  node->work_dir_ = MakeWorkDir();
  if (node->work_dir_.empty()) return absl::InternalError(ErrnoMessage("mkdtemp"));
  node->data_dir_ =
      node->options_.data_dir.empty() ? node->work_dir_ + "/data" : node->options_.data_dir;
  node->config_path_ = node->work_dir_ + "/node.toml";
  node->log_path_ = node->work_dir_ + "/node.log";
  if (absl::Status s = node->WriteConfig(); !s.ok()) return s;
  if (absl::Status s = node->Restart(); !s.ok()) return s;
  return node;
}

NodeProcess::~NodeProcess() {
  Kill();
  std::error_code ignored;
  if (!work_dir_.empty() && std::getenv("MOSAIC_KEEP_TEST_DIRS") == nullptr) {
    fs::remove_all(work_dir_, ignored);
  }
}

absl::Status NodeProcess::WriteConfig() const {
  std::ostringstream toml;
  toml << "node_id = \"" << options_.node_id << "\"\n"
       << "data_dir = \"" << data_dir_ << "\"\n"
       << "listen = \"" << options_.listen << "\"\n"
       << "metrics_listen = \"127.0.0.1:0\"\n"
       << "log_level = \"" << options_.log_level << "\"\n"
       << "max_chunk_size = \"" << options_.max_chunk_size << "\"\n\n"
       << "[tls]\nplaintext = true\n\n"
       << "[storage]\n"
       << "segment_size = \"" << options_.segment_size << "\"\n"
       << "compact_below = " << options_.compact_below << "\n"
       << "reserved_free = \"" << options_.reserved_free << "\"\n"
       << "reader_threads = " << options_.reader_threads << "\n";
  if (options_.io_engine != "auto") toml << "io_engine = \"" << options_.io_engine << "\"\n";
  toml << "\n[scrub]\n"
       << "rate = \"" << options_.scrub_rate << "\"\n"
       << "interval = \"" << options_.scrub_interval << "\"\n\n";
  for (const TenantSpec& tenant : options_.tenants) {
    toml << "[[tenant]]\n"
         << "name = \"" << tenant.name << "\"\n"
         << "token_sha256 = \"" << Sha256Hex(AsBytes(tenant.token)) << "\"\n";
    if (!tenant.quota.empty()) toml << "quota = \"" << tenant.quota << "\"\n";
    toml << "\n";
  }
  toml << options_.extra_toml;
  std::ofstream out(config_path_, std::ios::trunc);
  out << toml.str();
  out.close();
  if (!out) return absl::InternalError("cannot write " + config_path_);
  return absl::OkStatus();
}

absl::Status NodeProcess::Restart() {
  if (Running()) return absl::FailedPreconditionError("node is still running");
  std::error_code ignored;
  fs::create_directories(data_dir_, ignored);
  // A stale address file from the previous run must not be mistaken for the new one.
  fs::remove(data_dir_ + "/grpc.addr", ignored);
  fs::remove(data_dir_ + "/metrics.addr", ignored);
  grpc_address_.clear();
  metrics_address_.clear();
  if (absl::Status s = Spawn(); !s.ok()) return s;
  if (absl::Status s = WaitForAddresses(); !s.ok()) {
    Kill();
    return WithLogTail(s);
  }
  absl::Status serving = CheckServing(options_.start_timeout);
  if (!serving.ok()) {
    Kill();
    return WithLogTail(serving);
  }
  return absl::OkStatus();
}

absl::Status NodeProcess::Spawn() {
  std::ofstream(log_path_, std::ios::app)
      << "==== starting " << options_.binary << " node --config " << config_path_ << "\n";
  // Everything the child needs is prepared before fork(): between fork and exec a
  // multi-threaded parent's child may only make async-signal-safe calls.
  std::vector<std::string> args = {options_.binary, "node", "--config", config_path_};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(ErrnoMessage("open " + log_path_));
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, nullptr);
    sigaction(SIGTERM, &dfl, nullptr);
    sigaction(SIGINT, &dfl, nullptr);
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execv(argv[0], argv.data());
    static const char kMsg[] = "exec of the mosaic binary failed\n";
    [[maybe_unused]] ssize_t n = write(2, kMsg, sizeof(kMsg) - 1);
    _exit(127);
  }
  int fork_errno = errno;
  close(log_fd);
  close(null_fd);
  if (pid < 0) {
    errno = fork_errno;
    return absl::InternalError(ErrnoMessage("fork"));
  }
  pid_ = pid;
  unexpected_exit_.clear();
  return absl::OkStatus();
}

absl::Status NodeProcess::WaitForAddresses() {
  Clock::time_point deadline = Clock::now() + options_.start_timeout;
  while (Clock::now() < deadline) {
    if (!Running()) return absl::InternalError("the node " + unexpected_exit_ + " during startup");
    grpc_address_ = ReadAddressFile(data_dir_ + "/grpc.addr");
    metrics_address_ = ReadAddressFile(data_dir_ + "/metrics.addr");
    if (!grpc_address_.empty() && !metrics_address_.empty()) return absl::OkStatus();
    std::this_thread::sleep_for(kPollInterval);
  }
  return absl::DeadlineExceededError("the node did not write grpc.addr and metrics.addr in " +
                                     std::to_string(options_.start_timeout.count()) + " ms");
}

absl::Status NodeProcess::CheckServing(std::chrono::milliseconds timeout) const {
  grpc::GenericStub stub(NewChannel());
  Clock::time_point deadline = Clock::now() + timeout;
  std::string last = "no answer";
  while (Clock::now() < deadline) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);  // HealthCheckRequest{service = ""}
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                   &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
    grpc::Status status = done.get_future().get();
    if (status.ok()) {
      std::vector<grpc::Slice> slices;
      std::string bytes;
      if (response.Dump(&slices).ok()) {
        for (const grpc::Slice& s : slices)
          bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      // HealthCheckResponse{status = SERVING (1)} is field 1, varint 1.
      if (bytes == std::string("\x08\x01", 2)) return absl::OkStatus();
      last = "health answered, but not SERVING";
    } else {
      last = "health check: " + Describe(status);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return absl::UnavailableError(last);
}

std::shared_ptr<grpc::Channel> NodeProcess::NewChannel() const {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(grpc_address_, grpc::InsecureChannelCredentials(), args);
}

bool NodeProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  if (r == pid_ && WIFEXITED(status)) {
    unexpected_exit_ = "exited with code " + std::to_string(WEXITSTATUS(status));
  } else if (r == pid_ && WIFSIGNALED(status)) {
    unexpected_exit_ = "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                       strsignal(WTERMSIG(status)) + ")";
  }
  pid_ = -1;
  return false;
}

int NodeProcess::Kill() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return status;
}

absl::StatusOr<int> NodeProcess::Terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("node is not running");
  kill(pid_, SIGTERM);
  Clock::time_point deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return absl::InternalError("the node died of signal " + std::to_string(WTERMSIG(status)));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  Kill();
  return absl::DeadlineExceededError("the node did not exit within " +
                                     std::to_string(timeout.count()) + " ms of SIGTERM");
}

std::string NodeProcess::ReadLog(size_t max_bytes) const {
  absl::StatusOr<std::string> log = ReadFile(log_path_);
  if (!log.ok()) return "(no log)";
  if (log->size() > max_bytes) return "..." + log->substr(log->size() - max_bytes);
  return *std::move(log);
}

absl::Status NodeProcess::WithLogTail(const absl::Status& status) const {
  return absl::Status(status.code(), std::string(status.message()) + "\n---- node log (" +
                                         log_path_ + ") ----\n" + ReadLog(8192));
}

// ---------------------------------------------------------------------------------------
// Helpers

std::string RandomBytes(uint64_t seed, size_t size) {
  std::string out(size, '\0');
  uint64_t state = seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
  size_t i = 0;
  while (i < size) {
    state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    size_t n = std::min<size_t>(8, size - i);
    std::memcpy(out.data() + i, &z, n);
    i += n;
  }
  return out;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::StatusOr<std::string> HttpGet(const std::string& address, const std::string& path) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError("bad address " + address);
  sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(std::stoi(address.substr(colon + 1))));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1) {
    return absl::InvalidArgumentError("bad address " + address);
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(ErrnoMessage("socket"));
  timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    close(fd);
    return absl::UnavailableError(ErrnoMessage("connect " + address));
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size())) {
    close(fd);
    return absl::UnavailableError(ErrnoMessage("send"));
  }
  std::string response;
  char buf[16384];
  for (int i = 0; i < 100'000; ++i) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    response.append(buf, size_t(n));
  }
  close(fd);
  size_t end_of_headers = response.find("\r\n\r\n");
  bool http = response.compare(0, 9, "HTTP/1.1 ") == 0 || response.compare(0, 9, "HTTP/1.0 ") == 0;
  if (end_of_headers == std::string::npos || !http) {
    return absl::InternalError("malformed HTTP response: " + response.substr(0, 200));
  }
  if (response.compare(9, 3, "200") != 0) {
    return absl::InternalError("HTTP status: " + response.substr(0, response.find("\r\n")));
  }
  return response.substr(end_of_headers + 4);
}

}  // namespace mosaic::test
