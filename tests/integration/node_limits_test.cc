// The node integration tests about limits and hostile input: ports, tokens, quotas, sizes,
// tenants, compaction, full disks, metrics, garbage on the wire.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>

#include "tests/integration/node_fixture.h"

namespace mosaic::test {
namespace {

TEST_F(NodeTest, ASecondNodeCannotListenOnATakenPort) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  // Two nodes sharing a port (SO_REUSEPORT) would split the clients' connections between
  // two data folders: the second one must fail to start instead.
  NodeOptions second;
  second.listen = node_->grpc_address();
  second.start_timeout = seconds(10);
  absl::StatusOr<std::unique_ptr<NodeProcess>> other = NodeProcess::Start(second);
  EXPECT_FALSE(other.ok()) << "a second node now listens on " << node_->grpc_address();
  ASSERT_GRPC_OK(node_->Client().Put("mine", "data"));
}

TEST_F(NodeTest, MissingOrWrongTokenIsUnauthenticated) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  const std::string good = node_->options().tenants[0].token;
  for (const std::string& token :
       {std::string(), good + "x", good.substr(1), std::string("Bearer")}) {
    SCOPED_TRACE("token '" + token + "'");
    ChunkClient client = node_->Client(token);
    EXPECT_GRPC_CODE(client.Put("c", "data"), UNAUTHENTICATED);
    EXPECT_GRPC_CODE(client.Get("c"), UNAUTHENTICATED);
    EXPECT_GRPC_CODE(client.Stat("c"), UNAUTHENTICATED);
    EXPECT_GRPC_CODE(client.Delete("c"), UNAUTHENTICATED);
    EXPECT_GRPC_CODE(client.List("", 10), UNAUTHENTICATED);
    EXPECT_GRPC_CODE(client.Info(), UNAUTHENTICATED);
  }
  // A token under another scheme, and the right token without "Bearer ".
  for (const std::string& header : {"Basic " + good, good, "bearer" + good}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", header);
    v1::PutChunkRequest request;
    request.set_chunk_id("c");
    request.set_data("data");
    v1::PutChunkResponse response;
    grpc::Status status = node_->Client().stub().PutChunk(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << header << ": " << Describe(status);
  }
  ChunkClient client = node_->Client();
  EXPECT_GRPC_CODE(client.Get("c"), NOT_FOUND) << "an unauthenticated put stored something";
  ASSERT_GRPC_OK(client.Put("c", "data"));
}

TEST_F(NodeTest, TokensNeverAppearInLogsOrMetrics) {
  NodeOptions options;
  options.log_level = "trace";
  ASSERT_NO_FATAL_FAILURE(StartNode(options));
  const std::string good = node_->options().tenants[0].token;
  const std::string wrong = "wrong-token-91b2c7d4";
  ASSERT_GRPC_OK(node_->Client().Put("c", "data"));
  ASSERT_GRPC_OK(node_->Client().Get("c"));
  EXPECT_GRPC_CODE(node_->Client(wrong).Put("d", "data"), UNAUTHENTICATED);
  EXPECT_GRPC_CODE(node_->Client(wrong).Get("c"), UNAUTHENTICATED);
  absl::StatusOr<std::string> metrics = HttpGet(node_->metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  absl::StatusOr<int> exit_code = node_->Terminate();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  std::string log = node_->ReadLog();
  for (const std::string& secret : {good, wrong}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "token in the log";
    EXPECT_EQ(metrics->find(secret), std::string::npos) << "token in the metrics";
  }
}

TEST_F(NodeTest, PutOverQuotaIsResourceExhaustedAndWritesNothing) {
  NodeOptions options;
  options.tenants = {{"small", "token-small-5d1e", "1MiB"}, {"big", "token-big-a93c", ""}};
  ASSERT_NO_FATAL_FAILURE(StartNode(options));
  ChunkClient small = node_->Client("token-small-5d1e");
  // 3 x 300,000 B fit in 1 MiB however the node rounds records; a fourth does not.
  for (int i = 0; i < 3; ++i) {
    ASSERT_GRPC_OK(small.Put("fit-" + std::to_string(i), RandomBytes(uint64_t(i), 300'000)));
  }
  Reply<v1::NodeInfo> before = small.Info();
  ASSERT_GRPC_OK(before);
  EXPECT_EQ(before.response.tenant().quota_bytes(), kMiB);
  EXPECT_EQ(before.response.tenant().chunk_count(), 3u);
  EXPECT_GRPC_CODE(small.Put("over", RandomBytes(9, 300'000)), RESOURCE_EXHAUSTED);
  Reply<v1::NodeInfo> after = small.Info();
  ASSERT_GRPC_OK(after);
  EXPECT_EQ(after.response.tenant().used_bytes(), before.response.tenant().used_bytes());
  EXPECT_EQ(after.response.tenant().chunk_count(), 3u);
  EXPECT_GRPC_CODE(small.Get("over"), NOT_FOUND);
  EXPECT_GRPC_CODE(small.Stat("over"), NOT_FOUND);

  // What still fits is accepted; the quota is per tenant; deleting frees quota.
  ASSERT_GRPC_OK(small.Put("small-one", RandomBytes(10, 100'000)));
  ASSERT_GRPC_OK(node_->Client("token-big-a93c").Put("big", RandomBytes(11, 2 * kMiB)));
  ASSERT_GRPC_OK(small.Delete("fit-0"));
  ASSERT_GRPC_OK(small.Put("over", RandomBytes(9, 300'000)));
  EXPECT_EQ(CheckReadsBack(small, {"over", 9, 300'000}), std::nullopt);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(CheckReadsBack(small, {"fit-" + std::to_string(i), uint64_t(i), 300'000}),
              std::nullopt);
  }
}

// Issue 18, finding 3: quotas counted payload bytes, and a 1 MiB tenant grew a node's disk
// by 164 MB with 40,001 tiny chunks. Every chunk is now charged its record (at least 4 KiB)
// and its index entries, so tiny chunks stop at the quota; empty chunks are refused.
TEST_F(NodeTest, TinyChunksCannotGrowTheDiskPastTheQuota) {
  NodeOptions options;
  options.tenants = {{"small", "token-small-5d1e", "1MiB"}};
  ASSERT_NO_FATAL_FAILURE(StartNode(options));
  ChunkClient small = node_->Client("token-small-5d1e");
  const std::string segments = node_->data_dir() + "/segments";
  uint64_t before = FolderBytes(segments);
  std::atomic<bool> refused{false};
  std::vector<std::string> errors =
      ParallelFor(4, 3000, [&](size_t i) -> std::optional<std::string> {
        if (refused) return std::nullopt;
        Reply<v1::PutChunkResponse> put = small.Put("tiny-" + std::to_string(i), "x");
        if (put.code() == grpc::StatusCode::RESOURCE_EXHAUSTED) refused = true;
        if (put.ok() || refused) return std::nullopt;
        return "put " + std::to_string(i) + ": " + Describe(put.status);
      });
  EXPECT_NO_ERRORS(errors);
  EXPECT_TRUE(refused) << "3000 tiny chunks all fit in a 1 MiB quota";
  Reply<v1::NodeInfo> info = small.Info();
  ASSERT_GRPC_OK(info);
  uint64_t grown = FolderBytes(segments) - before;
  EXPECT_LE(grown, kMiB) << info.response.tenant().chunk_count() << " chunks";
  EXPECT_LE(info.response.tenant().used_bytes(), kMiB);
  EXPECT_GE(info.response.tenant().used_bytes(), grown) << "usage charges less than the disk";
  EXPECT_LE(info.response.tenant().chunk_count(), kMiB / 4096);
  EXPECT_GRPC_CODE(small.Put("empty", ""), INVALID_ARGUMENT);
}

// A field of /proc/PID/status ("VmRSS:", "VmHWM:") in bytes; 0 if absent.
uint64_t ProcStatusBytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0)
      return std::strtoull(line.c_str() + field.size(), nullptr, 10) * 1024;
  }
  return 0;
}

// A tokenless /grpc.health.v1.Health/Check carrying `request` as its message: the status,
// and the answer's bytes.
std::pair<grpc::Status, std::string> HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                                 const std::string& request) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + seconds(120));
  grpc::Slice slice(request);
  grpc::ByteBuffer message(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &message, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (status.ok() && response.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return {status, bytes};
}

// Issue 18, finding 4: gRPC received a whole message (up to 9 MiB) before the token was
// checked, and six tokenless clients took a node from 28 MB to 948 MB. The token is now
// checked from the metadata before the body is read: tokenless load leaves the node's peak
// RSS within 64 MiB of where it was, and a tenant keeps being served meanwhile. Half the
// tokenless calls are health checks (which need no token) with a 9 MiB message: gRPC's
// default health service read them whole; the node now answers SERVING without reading.
TEST_F(NodeTest, TokenlessClientsCannotMakeTheNodeHoldTheirMessages) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  ChunkClient tenant = node_->Client();
  ASSERT_GRPC_OK(tenant.Put("warm", RandomBytes(1, kMiB)));
  ASSERT_EQ(CheckReadsBack(tenant, {"warm", 1, kMiB}), std::nullopt);
  const uint64_t baseline = ProcStatusBytes(node_->pid(), "VmRSS:");
  ASSERT_GT(baseline, 0u);

  constexpr int kClients = 6, kCallsPerClient = 8, kRounds = 4;
  v1::PutChunkRequest request;
  request.set_chunk_id("intruder");
  request.set_data(RandomBytes(2, 9 * kMiB - 4 * kKiB));  // just under the 9 MiB message limit
  const std::string health_request = request.SerializeAsString();  // any 9 MiB will do
  std::atomic<int> unauthenticated{0}, serving{0};
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    std::shared_ptr<grpc::Channel> channel = node_->NewChannel();  // a connection each
    for (int t = 0; t < kCallsPerClient; ++t) {
      threads.emplace_back([&, channel, health = t % 2 == 1] {
        std::unique_ptr<v1::ChunkService::Stub> stub = v1::ChunkService::NewStub(channel);
        for (int i = 0; i < kRounds; ++i) {
          if (health) {
            auto [status, answer] = HealthCheck(channel, health_request);
            if (status.ok() && answer == std::string("\x08\x01", 2)) {
              ++serving;
              continue;
            }
            std::lock_guard lock(mu);
            if (errors.size() < 10) errors.push_back("health: " + Describe(status));
            continue;
          }
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + seconds(120));
          v1::PutChunkResponse response;
          grpc::Status status = stub->PutChunk(&context, request, &response);
          if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
            ++unauthenticated;
            continue;
          }
          std::lock_guard lock(mu);
          if (errors.size() < 10) errors.push_back("tokenless put: " + Describe(status));
        }
      });
    }
  }
  std::atomic<bool> loading{true};
  std::thread served([&] {
    for (int i = 0; i < 200 && loading; ++i) {
      ChunkSpec spec{"served-" + std::to_string(i), uint64_t(100 + i), 64 * kKiB};
      Reply<v1::PutChunkResponse> put = tenant.Put(spec.id, spec.Data());
      std::optional<std::string> error;
      if (!put.ok()) error = "tenant put " + spec.id + ": " + Describe(put.status);
      if (!error) error = CheckReadsBack(tenant, spec);
      if (!error) continue;
      std::lock_guard lock(mu);
      if (errors.size() < 10) errors.push_back(*error);
    }
  });
  for (std::thread& t : threads) t.join();
  loading = false;
  served.join();
  const uint64_t peak = ProcStatusBytes(node_->pid(), "VmHWM:");
  std::cerr << "node RSS " << baseline / kMiB << " MiB before the load, peak " << peak / kMiB
            << " MiB\n";
  EXPECT_NO_ERRORS(errors);
  EXPECT_EQ(unauthenticated, kClients * kCallsPerClient / 2 * kRounds);
  EXPECT_EQ(serving, kClients * kCallsPerClient / 2 * kRounds);
  EXPECT_LE(peak, baseline + 64 * kMiB)
      << "peak RSS " << peak / kMiB << " MiB, " << baseline / kMiB << " MiB before the load";
  EXPECT_GRPC_CODE(tenant.Get("intruder"), NOT_FOUND);
  ASSERT_GRPC_OK(tenant.Put("after", RandomBytes(3, kMiB)));
  EXPECT_EQ(CheckReadsBack(tenant, {"after", 3, kMiB}), std::nullopt);
}

TEST_F(NodeTest, OversizedChunksAndBadIdsAreInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  ChunkClient client = node_->Client();
  EXPECT_GRPC_CODE(client.Put("too-big", RandomBytes(1, kMaxChunk + 1)), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.Get("too-big"), NOT_FOUND);
  ASSERT_GRPC_OK(client.Put("max", RandomBytes(2, kMaxChunk)));
  EXPECT_GRPC_CODE(client.Put("", "data"), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.Get(""), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.Stat(""), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.Delete(""), INVALID_ARGUMENT);
  const std::string id64(64, 'i');
  EXPECT_GRPC_CODE(client.Put(id64 + "i", "data"), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.Get(id64 + "i"), INVALID_ARGUMENT);
  ASSERT_GRPC_OK(client.Put(id64, "data"));
  EXPECT_EQ(CheckReadsBack(client, {"max", 2, kMaxChunk}), std::nullopt);
  // Reads past the end and bad page sizes.
  EXPECT_GRPC_CODE(client.Get(id64, 5), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.Get("max", kMaxChunk + 1), INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(client.List("", 10'001), INVALID_ARGUMENT);
  Reply<v1::ListChunksResponse> listed = client.List("", 10'000);
  ASSERT_GRPC_OK(listed);
  EXPECT_EQ(listed.response.chunks_size(), 2);
  Reply<v1::NodeInfo> info = client.Info();
  ASSERT_GRPC_OK(info);
  EXPECT_EQ(info.response.tenant().chunk_count(), 2u);
}

TEST_F(NodeTest, SameIdWithOtherBytesIsAlreadyExistsAndKeepsTheOriginal) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  ChunkClient client = node_->Client();
  const ChunkSpec original{"same-id", 1, 50'000};
  Reply<v1::PutChunkResponse> first = client.Put(original.id, original.Data());
  ASSERT_GRPC_OK(first);
  EXPECT_TRUE(first.response.created());
  Reply<v1::NodeInfo> before = client.Info();
  ASSERT_GRPC_OK(before);

  Reply<v1::PutChunkResponse> again = client.Put(original.id, original.Data());
  ASSERT_GRPC_OK(again) << "same id, same bytes is idempotent";
  EXPECT_FALSE(again.response.created());
  EXPECT_EQ(again.response.crc32c(), first.response.crc32c());
  std::string flipped = original.Data();
  flipped[25'000] ^= 1;
  EXPECT_GRPC_CODE(client.Put(original.id, flipped), ALREADY_EXISTS);
  EXPECT_GRPC_CODE(client.Put(original.id, RandomBytes(2, 50'000)), ALREADY_EXISTS);
  EXPECT_GRPC_CODE(client.Put(original.id, RandomBytes(3, 60'000)), ALREADY_EXISTS);
  EXPECT_GRPC_CODE(client.Put(original.id, ""), INVALID_ARGUMENT);
  EXPECT_EQ(CheckReadsBack(client, original), std::nullopt);
  Reply<v1::NodeInfo> after = client.Info();
  ASSERT_GRPC_OK(after);
  EXPECT_EQ(after.response.tenant().used_bytes(), before.response.tenant().used_bytes());
  EXPECT_EQ(after.response.tenant().chunk_count(), 1u);
  node_->Kill();
  ASSERT_NO_FATAL_FAILURE(RestartNode());
  EXPECT_EQ(CheckReadsBack(node_->Client(), original), std::nullopt);
}

TEST_F(NodeTest, TenantsCannotSeeOrTouchEachOthersChunks) {
  NodeOptions options;
  options.tenants = {{"alpha", "token-alpha-0c4f", ""}, {"beta", "token-beta-e17a", ""}};
  ASSERT_NO_FATAL_FAILURE(StartNode(options));
  ChunkClient alpha = node_->Client("token-alpha-0c4f");
  ChunkClient beta = node_->Client("token-beta-e17a");
  const ChunkSpec mine{"shared-name", 7, 10'000};
  ASSERT_GRPC_OK(alpha.Put(mine.id, mine.Data()));

  EXPECT_GRPC_CODE(beta.Get(mine.id), NOT_FOUND);
  EXPECT_GRPC_CODE(beta.Stat(mine.id), NOT_FOUND);
  Reply<v1::ListChunksResponse> listed = beta.List("", 100);
  ASSERT_GRPC_OK(listed);
  EXPECT_EQ(listed.response.chunks_size(), 0);
  Reply<v1::DeleteChunkResponse> del = beta.Delete(mine.id);
  ASSERT_GRPC_OK(del);
  EXPECT_FALSE(del.response.existed());
  Reply<v1::NodeInfo> info = beta.Info();
  ASSERT_GRPC_OK(info);
  EXPECT_EQ(info.response.tenant().name(), "beta");
  EXPECT_EQ(info.response.tenant().chunk_count(), 0u);
  EXPECT_EQ(info.response.tenant().used_bytes(), 0u);

  // Ids are per tenant: beta's chunk of the same name neither collides with nor replaces alpha's.
  const ChunkSpec theirs{"shared-name", 8, 20'000};
  Reply<v1::PutChunkResponse> put = beta.Put(theirs.id, theirs.Data());
  EXPECT_GRPC_OK(put);
  EXPECT_EQ(CheckReadsBack(alpha, mine), std::nullopt);
  EXPECT_EQ(CheckReadsBack(beta, theirs), std::nullopt);
  ASSERT_GRPC_OK(alpha.Delete(mine.id));
  EXPECT_EQ(CheckReadsBack(beta, theirs), std::nullopt);
  Reply<v1::ListChunksResponse> alpha_list = alpha.List("", 100);
  ASSERT_GRPC_OK(alpha_list);
  EXPECT_EQ(alpha_list.response.chunks_size(), 0);
}

TEST_F(NodeTest, CompactionReclaimsDeletedSpaceAndSurvivesRestart) {
  ASSERT_NO_FATAL_FAILURE(StartNode());  // 16 MiB segments
  ChunkClient client = node_->Client();
  std::vector<ChunkSpec> chunks;
  for (int i = 0; i < 128; ++i)
    chunks.push_back({"compact-" + std::to_string(1000 + i), uint64_t(i), kMiB - 1000});
  std::vector<std::string> errors =
      ParallelFor(4, chunks.size(), [&](size_t i) -> std::optional<std::string> {
        Reply<v1::PutChunkResponse> put = client.Put(chunks[i].id, chunks[i].Data());
        if (!put.ok()) return "put " + chunks[i].id + ": " + Describe(put.status);
        return std::nullopt;
      });
  ASSERT_TRUE(errors.empty()) << Join(errors);
  const std::string segments = node_->data_dir() + "/segments";
  const uint64_t full_bytes = FolderBytes(segments);
  ASSERT_GE(full_bytes, 128 * (kMiB - 1000));

  std::vector<ChunkSpec> survivors;
  std::vector<ChunkSpec> deleted;
  for (size_t i = 0; i < chunks.size(); ++i)
    (i % 8 == 0 ? survivors : deleted).push_back(chunks[i]);
  for (const ChunkSpec& c : deleted) ASSERT_GRPC_OK(client.Delete(c.id));
  uint64_t now_bytes = full_bytes;
  EXPECT_TRUE(PollUntil(seconds(60),
                        [&] {
                          now_bytes = FolderBytes(segments);
                          return now_bytes <= full_bytes / 2;
                        }))
      << "segments still hold " << now_bytes << " of " << full_bytes << " bytes";
  for (const ChunkSpec& c : survivors) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);

  node_->Kill();  // compaction and deletes must survive kill -9 too
  ASSERT_NO_FATAL_FAILURE(RestartNode());
  client = node_->Client();
  for (const ChunkSpec& c : survivors) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);
  for (const ChunkSpec& c : deleted) EXPECT_GRPC_CODE(client.Get(c.id), NOT_FOUND) << c.id;
  Reply<std::vector<v1::ChunkInfo>> listed = client.ListAll(1000);
  ASSERT_GRPC_OK(listed);
  ASSERT_EQ(listed.response.size(), survivors.size());
  for (size_t i = 0; i < survivors.size(); ++i)
    EXPECT_EQ(listed.response[i].chunk_id(), survivors[i].id);
  Reply<v1::NodeInfo> info = client.Info();
  ASSERT_GRPC_OK(info);
  EXPECT_EQ(info.response.tenant().chunk_count(), survivors.size());
  EXPECT_LE(FolderBytes(segments), full_bytes / 2) << "space came back after the restart";
  // The node keeps working after compaction.
  ASSERT_GRPC_OK(client.Put("after", RandomBytes(99, kMiB)));
  EXPECT_EQ(CheckReadsBack(client, {"after", 99, kMiB}), std::nullopt);
}

TEST_F(NodeTest, FullDiskIsResourceExhaustedAndKeepsStoredChunks) {
  ASSERT_NO_FATAL_FAILURE(StartNodeOnSmallDisk());
  if (IsSkipped()) return;
  ChunkClient client = node_->Client();

  std::vector<ChunkSpec> acked;
  grpc::Status refused;
  for (int i = 0; i < 200; ++i) {
    ChunkSpec spec{"fill-" + std::to_string(1000 + i), uint64_t(i), 1000 * kKiB};
    Reply<v1::PutChunkResponse> put = client.Put(spec.id, spec.Data());
    if (!put.ok()) {
      refused = put.status;
      EXPECT_GRPC_CODE(client.Get(spec.id), NOT_FOUND) << "a refused put left something behind";
      break;
    }
    acked.push_back(spec);
  }
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Describe(refused);
  EXPECT_GE(acked.size(), 16u) << "the disk filled up suspiciously early";
  ASSERT_TRUE(node_->Running());
  for (const ChunkSpec& c : acked) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);
  // A small put may or may not fit, but it never breaks anything.
  Reply<v1::PutChunkResponse> tiny = client.Put("tiny", "x");
  EXPECT_TRUE(tiny.ok() || tiny.code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(tiny.status);

  // Delete three in four; once compaction has reclaimed the space, puts succeed again.
  std::vector<ChunkSpec> kept;
  for (size_t i = 0; i < acked.size(); ++i) {
    if (i % 4 == 0) {
      kept.push_back(acked[i]);
    } else {
      ASSERT_GRPC_OK(client.Delete(acked[i].id));
    }
  }
  ChunkSpec after{"after-delete", 4242, 1000 * kKiB};
  Reply<v1::PutChunkResponse> put;
  EXPECT_TRUE(PollUntil(seconds(60),
                        [&] {
                          put = client.Put(after.id, after.Data());
                          return put.ok();
                        }))
      << "puts still fail after deleting 3/4 of the data: " << Describe(put.status);
  if (put.ok()) kept.push_back(after);
  for (const ChunkSpec& c : kept) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);

  ASSERT_NO_FATAL_FAILURE(StopNode());
  ASSERT_NO_FATAL_FAILURE(RestartNode());
  client = node_->Client();
  for (const ChunkSpec& c : kept) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);
}

// Fills the filesystem holding `path` by writing a file there until ENOSPC. Returns the
// bytes written.
uint64_t FillDisk(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return 0;
  const std::string block(kMiB, 'f');
  uint64_t written = 0;
  for (size_t step : {kMiB, 4 * kKiB, size_t{512}}) {
    for (int i = 0; i < 100'000; ++i) {
      ssize_t n = write(fd, block.data(), step);
      if (n <= 0) break;
      written += uint64_t(n);
    }
  }
  fsync(fd);
  close(fd);
  return written;
}

TEST_F(NodeTest, DiskFilledByAnotherProcessNeitherCrashesTheNodeNorLosesChunks) {
  ASSERT_NO_FATAL_FAILURE(StartNodeOnSmallDisk());
  if (IsSkipped()) return;
  ChunkClient client = node_->Client();
  std::vector<ChunkSpec> chunks;
  for (int i = 0; i < 10; ++i) {
    chunks.push_back({"before-" + std::to_string(i), uint64_t(i), 500 * kKiB});
    ASSERT_GRPC_OK(client.Put(chunks.back().id, chunks.back().Data()));
  }

  // Someone else takes every free byte: puts are refused, reads still work, and whatever a
  // delete answers, the node stays up.
  const std::string filler = disk_->dir() + "/filler";
  ASSERT_GT(FillDisk(filler), 0u);
  EXPECT_GRPC_CODE(client.Put("while-full", RandomBytes(1, 100'000)), RESOURCE_EXHAUSTED);
  EXPECT_GRPC_CODE(client.Put("while-full-tiny", "x"), RESOURCE_EXHAUSTED);
  Reply<v1::DeleteChunkResponse> del = client.Delete(chunks[0].id);
  ASSERT_TRUE(node_->Running()) << "a delete on a full disk crashed the node";
  EXPECT_TRUE(del.ok() || del.code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
      << Describe(del.status);
  if (del.ok()) chunks.erase(chunks.begin());
  for (const ChunkSpec& c : chunks) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);
  Reply<std::vector<v1::ChunkInfo>> listed = client.ListAll(100);
  EXPECT_GRPC_OK(listed);
  ASSERT_TRUE(node_->Running());

  // Once the space is back, the node takes puts and deletes again without a restart.
  ASSERT_EQ(unlink(filler.c_str()), 0);
  const ChunkSpec after{"after-full", 4243, 500 * kKiB};
  Reply<v1::PutChunkResponse> put;
  EXPECT_TRUE(PollUntil(seconds(30),
                        [&] {
                          put = client.Put(after.id, after.Data());
                          return put.ok();
                        }))
      << "puts still fail once the disk has room again: " << Describe(put.status);
  if (put.ok()) chunks.push_back(after);
  Reply<v1::DeleteChunkResponse> del_again = client.Delete(chunks[0].id);
  EXPECT_GRPC_OK(del_again);
  if (del_again.ok()) chunks.erase(chunks.begin());
  for (const ChunkSpec& c : chunks) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);

  ASSERT_NO_FATAL_FAILURE(StopNode());
  ASSERT_NO_FATAL_FAILURE(RestartNode());
  client = node_->Client();
  for (const ChunkSpec& c : chunks) EXPECT_EQ(CheckReadsBack(client, c), std::nullopt);
}

TEST_F(NodeTest, MetricsExposeRequestCountersAndLatencyHistograms) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  ChunkClient client = node_->Client();
  for (int i = 0; i < 5; ++i) {
    ASSERT_GRPC_OK(client.Put("m" + std::to_string(i), RandomBytes(uint64_t(i), 10'000)));
    ASSERT_GRPC_OK(client.Get("m" + std::to_string(i)));
  }
  EXPECT_GRPC_CODE(client.Get("absent"), NOT_FOUND);
  absl::StatusOr<std::string> text = HttpGet(node_->metrics_address(), "/metrics");
  ASSERT_TRUE(text.ok()) << text.status();
  auto lines = MetricLines(*text, "mosaic_node_");
  ASSERT_FALSE(lines.empty()) << *text;
  auto any = [&](const std::function<bool(const std::string&, double)>& match) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const auto& l) { return match(l.first, l.second); });
  };
  EXPECT_TRUE(any([](const std::string& name, double v) {
    return name.find("request") != std::string::npos && name.find("_total") != std::string::npos &&
           v >= 5;
  })) << "no request counter reached 5:\n"
      << *text;
  EXPECT_TRUE(any([](const std::string& name, double v) {
    return name.find("_bucket{") != std::string::npos &&
           name.find("le=\"+Inf\"") != std::string::npos && v >= 5;
  })) << "no histogram with 5 observations:\n"
      << *text;
  EXPECT_NE(text->find("# TYPE mosaic_node_"), std::string::npos);
  EXPECT_NE(text->find(" histogram"), std::string::npos);
  EXPECT_TRUE(any([](const std::string& name, double v) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    return lower.find("not_found") != std::string::npos && v >= 1;
  })) << "errors are not counted by code:\n"
      << *text;
}

// Sends `bytes` on a fresh TCP connection to `address`, reads whatever comes back for a
// moment, and closes.
void SendRaw(const std::string& address, const std::string& bytes) {
  size_t colon = address.rfind(':');
  sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(std::stoi(address.substr(colon + 1))));
  ASSERT_EQ(inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr), 1);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  timeval tv = {0, 200'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  [[maybe_unused]] ssize_t sent = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  char buf[4096];
  for (int i = 0; i < 16 && recv(fd, buf, sizeof(buf), 0) > 0; ++i) {
  }
  close(fd);
}

TEST_F(NodeTest, GarbageOnTheGrpcPortDoesNotHurtTheNode) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  ChunkClient client = node_->Client();
  const ChunkSpec kept{"kept", 5, 30'000};
  ASSERT_GRPC_OK(client.Put(kept.id, kept.Data()));
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  const std::vector<std::string> inputs = {
      "",
      RandomBytes(1, 65'536),
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      preface + RandomBytes(2, 4096),
      // A SETTINGS frame of a bad length, then a HEADERS frame claiming 16 MiB.
      preface + std::string("\x00\x00\x05\x04\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05", 14),
      preface + std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9) +
          std::string("\xff\xff\xff\x01\x04\x00\x00\x00\x01", 9) + RandomBytes(3, 1000),
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_NO_FATAL_FAILURE(SendRaw(node_->grpc_address(), inputs[i])) << "input " << i;
    ASSERT_TRUE(node_->Running()) << "the node died on input " << i;
    absl::Status serving = node_->CheckServing(seconds(10));
    ASSERT_TRUE(serving.ok()) << "input " << i << ": " << serving;
  }

  // A well-framed gRPC call whose protobuf is garbage.
  grpc::GenericStub generic(node_->NewChannel());
  for (const std::string& payload :
       {std::string("\xff\xff\xff\xff", 4), std::string("\x0a\xff\xff\xff\x7f", 5),
        RandomBytes(4, 1000)}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + node_->options().tenants[0].token);
    context.set_deadline(std::chrono::system_clock::now() + seconds(10));
    grpc::Slice slice(payload);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&context, "/mosaic.v1.ChunkService/PutChunk", grpc::StubOptions(), &request,
                      &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
    grpc::Status status = done.get_future().get();
    EXPECT_FALSE(status.ok()) << "garbage protobuf accepted";
  }
  ASSERT_TRUE(node_->Running());
  ASSERT_TRUE(node_->CheckServing(seconds(10)).ok());
  EXPECT_EQ(CheckReadsBack(client, kept), std::nullopt);
  ASSERT_GRPC_OK(client.Put("still-works", "yes"));
}

TEST_F(NodeTest, PutWithWrongCrcIsDataLossAndStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(StartNode());
  ChunkClient client = node_->Client();
  const ChunkSpec spec{"crc", 77, 40'000};
  const std::string data = spec.Data();
  const uint32_t crc = Crc32c(AsBytes(data));
  EXPECT_GRPC_CODE(client.PutWithCrc(spec.id, data, crc ^ 1), DATA_LOSS);
  EXPECT_GRPC_CODE(client.PutWithCrc(spec.id, data, 0), DATA_LOSS);
  EXPECT_GRPC_CODE(client.Get(spec.id), NOT_FOUND);
  Reply<v1::NodeInfo> info = client.Info();
  ASSERT_GRPC_OK(info);
  EXPECT_EQ(info.response.tenant().chunk_count(), 0u);
  EXPECT_EQ(info.response.tenant().used_bytes(), 0u);
  // The field is optional; with it right, or absent, the put succeeds.
  ASSERT_GRPC_OK(client.PutWithCrc(spec.id, data, crc));
  ASSERT_GRPC_OK(client.PutWithCrc("no-crc", "abc", std::nullopt));
  EXPECT_EQ(CheckReadsBack(client, spec), std::nullopt);
  Reply<v1::GetChunkResponse> got = client.Get("no-crc");
  ASSERT_GRPC_OK(got);
  EXPECT_EQ(got.response.data(), "abc");
}

}  // namespace
}  // namespace mosaic::test
