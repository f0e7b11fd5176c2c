#include "server/gateway/gateway.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>

#include "client/crypto/metadata_seal.h"
#include "client/crypto/secret.h"
#include "client/pipeline/pipeline.h"
#include "client/rpc/node_pool.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/worker.h"
#include "server/gateway/admin.h"
#include "server/gateway/backup/fencing.h"
#include "server/gateway/backup/settings.h"
#include "server/gateway/console/console.h"
#include "server/gateway/http/server.h"
#include "server/gateway/job_views.h"
#include "server/gateway/jobs/deleter.h"
#include "server/gateway/jobs/failure_detector.h"
#include "server/gateway/jobs/lifecycle.h"
#include "server/gateway/jobs/metadata_backup.h"
#include "server/gateway/jobs/orphan_sweeper.h"
#include "server/gateway/jobs/repairer.h"
#include "server/gateway/jobs/scrubber.h"
#include "server/gateway/jobs/upload_expiry.h"
#include "server/gateway/key_rotation.h"
#include "server/gateway/listen_safety.h"
#include "server/gateway/meta/lease.h"
#include "server/gateway/meta/meta_store.h"
#include "server/gateway/meta/write_journal.h"
#include "server/gateway/node_states.h"
#include "server/gateway/s3/body.h"
#include "server/gateway/s3/errors.h"
#include "server/gateway/s3/handler.h"
#include "server/gateway/s3/sigv4.h"
#include "server/gateway/s3/xml.h"
#include "server/gateway/status.h"

namespace mosaic::gateway {
namespace {

// The S3 handlers' RepairSink (s3/handler.h) is the repair job: jobs/ does not depend on s3/.
class RepairerSink final : public RepairSink {
 public:
  explicit RepairerSink(Repairer& repairer) : repairer_(repairer) {}
  void ReportBadShards(const v1::ObjectRecord& record,
                       const std::vector<client::BadShard>& faults) override {
    repairer_.ReportBadShards(record, faults);
  }

 private:
  Repairer& repairer_;
};

}  // namespace

// A job's leader that stops renewing is replaced after this long (meta/lease.h).
constexpr std::chrono::milliseconds kLeaseTtl = std::chrono::seconds(6);

struct Gateway::Impl {
  GatewayConfig config;
  std::unique_ptr<client::KeyRing> ring;
  std::unique_ptr<MetaStore> meta;
  std::unique_ptr<client::NodePool> pool;
  std::unique_ptr<client::Pipeline> pipeline;
  std::unique_ptr<Services> services;
  metrics::Registry registry;
  // Made once: a request records its metrics without the registry's mutex (issue 14).
  metrics::RequestMetrics request_metrics{
      registry,
      {"mosaic_gateway_requests_total", "S3 requests by operation and HTTP status.",
       "mosaic_gateway_request_seconds", "S3 request latency by operation.",
       "mosaic_gateway_received_bytes_total", "Request body bytes.",
       "mosaic_gateway_sent_bytes_total", "Response body bytes."}};
  std::unique_ptr<Deleter> deleter;
  std::unique_ptr<UploadExpiry> expiry;
  std::unique_ptr<LifecycleJob> lifecycle;
  std::unique_ptr<Scrubber> scrubber;
  std::unique_ptr<OrphanSweeper> sweeper;
  std::unique_ptr<FailureDetector> detector;
  std::unique_ptr<Repairer> repairer;
  std::unique_ptr<MetadataBackup> backup;
  std::unique_ptr<RepairerSink> repair_sink;
  std::unique_ptr<NodeStates> node_states;
  std::unique_ptr<StatusService> status;
  std::unique_ptr<SafetyScanner> safety_scanner;
  std::unique_ptr<HttpServer> s3;
  std::unique_ptr<HttpServer> admin;
  std::unique_ptr<console::Console> console;
  std::unique_ptr<HttpServer> console_http;
  std::string admin_token;
  // With metadata that other gateways share: one leader per job (meta/lease.h).
  std::unique_ptr<LeaseKeeper> leases;
  // With shared metadata: every writer's object recorded first (meta/write_journal.h).
  std::unique_ptr<WriteJournal> journal;
  // Runs every job above. Stopped (Shutdown) before any member goes: a job's thread may
  // call into another job (the failure detector wakes the repairer), so no job may be
  // destroyed while any thread runs — also when Start fails half-way (a taken port).
  WorkerRunner workers;

  ~Impl() { Shutdown(); }
  // Stops the listeners, then every job's thread. Idempotent.
  void Shutdown();
  // Creates the background jobs (not started).
  void CreateJobs();
  // Hands every job to the runner; the status shows them in this order.
  void StartJobs();
  void Handle(Exchange& ex);
  absl::Status Serve(Exchange& ex, const S3Request& req);
  absl::Status Dispatch(Operation op, Ctx& ctx);
  // The console's S3 relay: `req` served as `who`, the body an unsigned payload.
  absl::Status ServeAs(Exchange& ex, const S3Request& req, const Principal& who);
  // Creates the console and, when console_listen is set, starts its listener.
  absl::Status StartConsole(Gateway& gateway);
  void RenderError(Exchange& ex, const absl::Status& status);
  void Record(Exchange& ex, std::chrono::steady_clock::time_point start);
};

namespace {

absl::StatusOr<Principal> LookupPrincipal(MetaStore& meta, const client::KeyRing& ring,
                                          console::Console& console, const std::string& id,
                                          std::string* secret) {
  ASSIGN_OR_RETURN(auto record, meta.GetKey(id));
  if (!record) return absl::NotFoundError("no such access key");
  if (record->expires_ms() != 0 && UnixNowMs() >= record->expires_ms()) {
    return absl::NotFoundError("access key expired");
  }
  ASSIGN_OR_RETURN(*secret, client::OpenMetadata(ring, record->sealed_secret(), id));
  Principal p;
  p.key_id = id;
  p.grants.assign(record->grants().begin(), record->grants().end());
  if (!record->member().empty()) {
    // A member's key does what both the key and the member may do now.
    auto rights = console.accounts().EffectiveGrants(record->member());
    if (!rights.ok()) return absl::NotFoundError("access key of a removed member");
    Principal member{"", *std::move(rights)};
    std::erase_if(p.grants, [&](const v1::Grant& g) { return !member.Covers(g); });
  }
  return p;
}

// For operations that are refused before their body matters.
class EmptyBody final : public BodyReader {
 public:
  absl::StatusOr<size_t> Read(ByteSpan) override { return 0; }
  absl::Status Finish() override { return absl::OkStatus(); }
  std::optional<uint64_t> declared_length() const override { return 0; }
};

// The request target without its query: presigned URLs carry a signature that works as a
// password until it expires, so it never reaches the log.
std::string_view LoggablePath(const RequestView& r) { return r.RawPath(); }

}  // namespace

absl::Status Gateway::Impl::Dispatch(Operation op, Ctx& ctx) {
  switch (op) {
    case Operation::kListBuckets:
      return ListBuckets(ctx);
    case Operation::kCreateBucket:
      return CreateBucket(ctx);
    case Operation::kDeleteBucket:
      return DeleteBucket(ctx);
    case Operation::kHeadBucket:
      return HeadBucket(ctx);
    case Operation::kGetBucketLocation:
      return GetBucketLocation(ctx);
    case Operation::kGetBucketVersioning:
      return GetBucketVersioning(ctx);
    case Operation::kListObjects:
      return ListObjects(ctx);
    case Operation::kListObjectsV2:
      return ListObjectsV2(ctx);
    case Operation::kPutObject:
      return PutObject(ctx);
    case Operation::kGetObject:
      return GetObject(ctx);
    case Operation::kHeadObject:
      return HeadObject(ctx);
    case Operation::kDeleteObject:
      return DeleteObject(ctx);
    case Operation::kDeleteObjects:
      return DeleteObjects(ctx);
    case Operation::kCopyObject:
      return CopyObject(ctx);
    case Operation::kCreateMultipartUpload:
      return CreateMultipartUpload(ctx);
    case Operation::kUploadPart:
      return UploadPart(ctx);
    case Operation::kUploadPartCopy:
      return UploadPartCopy(ctx);
    case Operation::kCompleteMultipartUpload:
      return CompleteMultipartUpload(ctx);
    case Operation::kAbortMultipartUpload:
      return AbortMultipartUpload(ctx);
    case Operation::kListParts:
      return ListParts(ctx);
    case Operation::kListMultipartUploads:
      return ListMultipartUploads(ctx);
    case Operation::kGetObjectTagging:
      return GetObjectTagging(ctx);
    case Operation::kPutObjectTagging:
      return PutObjectTagging(ctx);
    case Operation::kDeleteObjectTagging:
      return DeleteObjectTagging(ctx);
    case Operation::kGetObjectAttributes:
      return GetObjectAttributes(ctx);
    case Operation::kPutBucketVersioning:
      return PutBucketVersioning(ctx);
    case Operation::kListObjectVersions:
      return ListObjectVersions(ctx);
    case Operation::kPutObjectLockConfiguration:
      return PutObjectLockConfiguration(ctx);
    case Operation::kGetObjectLockConfiguration:
      return GetObjectLockConfiguration(ctx);
    case Operation::kPutObjectRetention:
      return PutObjectRetention(ctx);
    case Operation::kGetObjectRetention:
      return GetObjectRetention(ctx);
    case Operation::kPutObjectLegalHold:
      return PutObjectLegalHold(ctx);
    case Operation::kGetObjectLegalHold:
      return GetObjectLegalHold(ctx);
    case Operation::kPutBucketLifecycleConfiguration:
      return PutBucketLifecycleConfiguration(ctx);
    case Operation::kGetBucketLifecycleConfiguration:
      return GetBucketLifecycleConfiguration(ctx);
    case Operation::kDeleteBucketLifecycle:
      return DeleteBucketLifecycle(ctx);
    case Operation::kGetBucketAcl:
      return GetBucketAcl(ctx);
    case Operation::kPutBucketAcl:
      return PutBucketAcl(ctx);
    case Operation::kGetObjectAcl:
      return GetObjectAcl(ctx);
    case Operation::kPutObjectAcl:
      return PutObjectAcl(ctx);
    default:
      return S3Error(S3Code::kNotImplemented,
                     std::string(OperationName(op)) +
                         (ctx.req.subresource.empty() ? "" : " (" + ctx.req.subresource + ")") +
                         " is not implemented by Mosaic");
  }
}

absl::Status Gateway::Impl::Serve(Exchange& ex, const S3Request& req) {
  Principal who;
  auto lookup = [&](const std::string& id) -> absl::StatusOr<std::string> {
    std::string secret;
    ASSIGN_OR_RETURN(who, LookupPrincipal(*meta, *ring, *console, id, &secret));
    return secret;
  };
  ASSIGN_OR_RETURN(AuthResult auth, VerifyRequest(ex.request(), lookup,
                                                  std::chrono::system_clock::now(), config.region));
  if (!IsImplemented(req.op)) {
    EmptyBody none;
    Ctx ctx{*services, ex, req, who, none};
    return Dispatch(req.op, ctx);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<BodyReader> body, NewBodyReader(ex, auth));
  Ctx ctx{*services, ex, req, who, *body};
  return Dispatch(req.op, ctx);
}

absl::Status Gateway::Impl::ServeAs(Exchange& ex, const S3Request& req, const Principal& who) {
  if (!IsImplemented(req.op)) {
    EmptyBody none;
    Ctx ctx{*services, ex, req, who, none};
    return Dispatch(req.op, ctx);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<BodyReader> body, NewBodyReader(ex, AuthResult{}));
  Ctx ctx{*services, ex, req, who, *body};
  return Dispatch(req.op, ctx);
}

absl::Status Gateway::Impl::StartConsole(Gateway& gateway) {
  console::ConsoleDeps deps{
      *meta,
      gateway,
      *pool,
      config,
      [this](Exchange& ex, const S3Request& req, const Principal& who) {
        return ServeAs(ex, req, who);
      },
      [this](Exchange& ex, const absl::Status& status) { RenderError(ex, status); },
      [this] {
        if (!config.public_s3_url.empty()) return config.public_s3_url;
        std::string host = config.listen.substr(0, config.listen.rfind(':'));
        return std::string(config.tls.enabled() ? "https://" : "http://") + host + ":" +
               std::to_string(s3 ? s3->port() : 0);
      },
      config.tls.enabled()};
  console = std::make_unique<console::Console>(std::move(deps));
  if (config.console_listen.empty()) return absl::OkStatus();
  HttpLimits limits = config.http;
  limits.max_connections = std::min<size_t>(limits.max_connections, 64);
  console::Console* c = console.get();
  ASSIGN_OR_RETURN(
      console_http,
      HttpServer::Start(
          config.console_listen, limits, [c](Exchange& ex) { c->Handle(ex); },
          [](Exchange& ex, int status, const std::string&) { (void)ex.Send(status, ""); },
          config.tls));
  spdlog::info("console on {}", config.console_listen);
  if (std::string plain = PlainHttpWarning("console", config.console_listen, config.tls.enabled());
      !plain.empty()) {
    spdlog::warn("{}", plain);
  }
  return absl::OkStatus();
}

void Gateway::Impl::RenderError(Exchange& ex, const absl::Status& status) {
  S3Code code = CodeOf(status);
  const S3ErrorInfo& info = InfoOf(code);
  if (info.http_status == 304) {
    (void)ex.Send(304, "");
    return;
  }
  if (info.http_status >= 500) {
    spdlog::warn("{} {}: {}", ex.request_id(), info.code, status.ToString());
  }
  ex.SetHeader("Content-Type", "application/xml");
  (void)ex.Send(
      info.http_status,
      ErrorXml(info.code,
               status.message().empty() ? std::string(info.message) : std::string(status.message()),
               std::string(LoggablePath(ex.request())), ex.request_id(), ErrorDetails(status)));
}

void Gateway::Impl::Record(Exchange& ex, std::chrono::steady_clock::time_point start) {
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  request_metrics.Record(ex.operation, ex.status, seconds, ex.bytes_in, ex.bytes_out);
  spdlog::info("{} {} {} {} {} in={} out={} {:.1f}ms", ex.request_id(), ex.request().method,
               std::string(LoggablePath(ex.request())), ex.operation, ex.status, ex.bytes_in,
               ex.bytes_out, seconds * 1000);
}

void Gateway::Impl::Handle(Exchange& ex) {
  auto start = std::chrono::steady_clock::now();
  absl::Status status;
  try {
    auto req = Route(ex.request(), config.domain);
    if (!req.ok()) {
      status = req.status();
    } else {
      ex.operation = OperationName(req->op);
      status = Serve(ex, *req);
    }
  } catch (const std::exception& e) {
    status = absl::InternalError(std::string("exception: ") + e.what());
  }
  if (!status.ok()) {
    if (ex.response_started()) {
      ex.Abort();
    } else {
      RenderError(ex, status);
    }
  }
  Record(ex, start);
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const GatewayConfig& config,
                                                        client::KeyRing ring) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->ring = std::make_unique<client::KeyRing>(std::move(ring));
  ::mkdir(config.data_dir.c_str(), 0700);
  ASSIGN_OR_RETURN(impl->meta, MetaStore::Open(config.metadata, config.data_dir + "/meta"));
  // The key must be the one the metadata is under (not a retired one, no rotation half-done).
  RETURN_IF_ERROR(ApplyKeyState(*impl->meta, *impl->ring));
  // The config's nodes, then those added at runtime (`mosaic node add`, kept in metadata).
  std::vector<client::NodeEndpoint> nodes = config.nodes;
  ASSIGN_OR_RETURN(auto added, NodeStates::AddedEndpoints(*impl->meta, *impl->ring));
  for (client::NodeEndpoint& e : added) {
    auto in_config = std::find_if(nodes.begin(), nodes.end(), [&](const client::NodeEndpoint& c) {
      return c.spec.id == e.spec.id;
    });
    if (in_config != nodes.end()) {
      // `mosaic gateway node add` writes both (live add, then the config): say so only
      // when they differ.
      if (in_config->address != e.address || in_config->spec.provider != e.spec.provider) {
        spdlog::warn(
            "node {} is in the config file ({}) and was added with `mosaic node add` "
            "({}): the config's entry is used",
            e.spec.id, in_config->address, e.address);
      }
      continue;
    }
    nodes.push_back(std::move(e));
  }
  impl->pool = std::make_unique<client::NodePool>(std::move(nodes), client::RpcOptions());
  // Fencing: every call carries the group's generation, which a restore raised.
  ASSIGN_OR_RETURN(uint64_t generation, FencingGeneration(*impl->meta));
  impl->pool->SetGeneration(generation);
  impl->pipeline = std::make_unique<client::Pipeline>(*impl->ring, *impl->pool, config.pipeline);
  impl->pipeline->spread_log().SetCounter(&impl->registry.GetCounter(
      "mosaic_gateway_stripes_written_doubled_total",
      "Stripes written with two shards or more at one provider (too few usable providers, a "
      "full, down or draining node); each write's first such stripe is logged."));
  // Drained and removed nodes are excluded from placement before anything can write.
  impl->node_states = std::make_unique<NodeStates>(*impl->meta, *impl->pipeline);
  RETURN_IF_ERROR(impl->node_states->Start());
  impl->status = std::make_unique<StatusService>(*impl->meta, *impl->pipeline, *impl->node_states,
                                                 StatusService::Options());
  impl->services.reset(new Services{*impl->meta, *impl->pipeline, impl->config});
  impl->CreateJobs();
  impl->StartJobs();
  ASSIGN_OR_RETURN(impl->admin_token, LoadOrCreateAdminToken(config.data_dir));
  Impl* raw = impl.get();
  auto reject = [raw](Exchange& ex, int status, const std::string& reason) {
    ex.operation = "Rejected";
    raw->RenderError(
        ex, S3Error(status == 431 ? S3Code::kRequestHeaderSectionTooLarge : S3Code::kInvalidRequest,
                    "malformed request: " + reason));
  };
  auto gateway = std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
  Gateway* g = gateway.get();
  // Before S3: access keys of console members are checked against the members' rights.
  RETURN_IF_ERROR(raw->StartConsole(*g));
  ASSIGN_OR_RETURN(raw->s3, HttpServer::Start(
                                config.listen, config.http,
                                [raw](Exchange& ex) { raw->Handle(ex); }, reject, config.tls));
  if (std::string plain = PlainHttpWarning("S3", config.listen, config.tls.enabled());
      !plain.empty()) {
    spdlog::warn("{}", plain);
  }
  HttpLimits admin_limits;
  admin_limits.max_connections = 16;
  ASSIGN_OR_RETURN(
      raw->admin,
      HttpServer::Start(
          config.admin_listen, admin_limits,
          [g, raw](Exchange& ex) {
            HandleAdmin(*g, raw->registry, raw->admin_token, *raw->pool, ex);
          },
          [](Exchange& ex, int status, const std::string&) { (void)ex.Send(status, ""); }));
  return gateway;
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() { Stop(); }

uint16_t Gateway::port() const { return impl_->s3->port(); }
uint16_t Gateway::admin_port() const { return impl_->admin->port(); }
uint16_t Gateway::console_port() const {
  return impl_->console_http ? impl_->console_http->port() : 0;
}
console::Console& Gateway::console() { return *impl_->console; }

absl::Status Gateway::ReloadTls() { return impl_->s3->ReloadTls(); }

void Gateway::Stop() { impl_->Shutdown(); }

void Gateway::Impl::Shutdown() {
  if (s3) s3->Stop();
  if (admin) admin->Stop(std::chrono::seconds(1));
  if (console_http) console_http->Stop(std::chrono::seconds(1));
  workers.Stop();
}

void Gateway::Impl::CreateJobs() {
  deleter = std::make_unique<Deleter>(*meta, *pipeline, registry);
  expiry = std::make_unique<UploadExpiry>(*meta, config.multipart_expiry,
                                          [d = deleter.get()] { d->Wake(); });
  if (config.lifecycle_day != std::chrono::hours(24)) {
    spdlog::warn("test_lifecycle_day is set: lifecycle rules count days of {} ms (tests only)",
                 config.lifecycle_day.count());
  }
  lifecycle = std::make_unique<LifecycleJob>(*meta, config.lifecycle_day,
                                             [d = deleter.get()] { d->Wake(); });
  scrubber = std::make_unique<Scrubber>(
      *meta, *pipeline, registry,
      Scrubber::Options{.deep_interval = config.deep_scrub_interval,
                        .deep_bytes_per_second = config.deep_scrub_bytes_per_second,
                        .state_file = config.data_dir + "/deep_scrub.last"});
  if (meta->shared()) {
    journal = std::make_unique<WriteJournal>(*meta, GatewayName(config.data_dir), kLeaseTtl);
    pipeline->SetWriteJournal(journal.get());
  }
  sweeper = std::make_unique<OrphanSweeper>(
      *meta, *pipeline, registry,
      OrphanSweeper::Options{.interval = config.orphan_sweep_interval,
                             .grace = config.orphan_grace,
                             .writer = journal ? journal->writer() : "",
                             .writer_ttl = kLeaseTtl});
  detector = std::make_unique<FailureDetector>(*meta, *pool, config.node_down_after,
                                               config.failure_check_interval,
                                               [this] { repairer->Wake(); });
  RepairerOptions repair;
  repair.bytes_per_second = config.repair_bytes_per_second;
  repair.stripes_in_flight = int(config.repair_stripes_in_flight);
  repair.avoid = [d = detector.get()](const std::string& id) {
    return d->DownNodes().contains(id);
  };
  repairer = std::make_unique<Repairer>(*meta, *pipeline, registry, std::move(repair));
  repair_sink = std::make_unique<RepairerSink>(*repairer);
  services->repair = repair_sink.get();
  status->SetRepairProgress(
      [r = repairer.get()] { return RepairProgressFromRepairer(r->progress()); });
  MetadataBackup::Options backup_options;
  backup_options.interval = config.backup_lag;
  if (!config.source_path.empty()) {
    // The config file's settings, and the nodes added at runtime (kept in the metadata, not
    // in the file), so that a restore from one node knows every node (issue 20).
    backup_options.settings = [this,
                               path = config.source_path]() -> absl::StatusOr<v1::GatewaySettings> {
      ASSIGN_OR_RETURN(v1::GatewaySettings settings, ReadGatewaySettings(path));
      ASSIGN_OR_RETURN(auto added, NodeStates::AddedEndpoints(*meta, *ring));
      RETURN_IF_ERROR(AddRuntimeNodes(added, settings));
      return settings;
    };
  }
  backup = std::make_unique<MetadataBackup>(*meta, *pipeline, registry, backup_options);
  status->SetBackupProgress(
      [b = backup.get()] { return BackupViewFromJob(b->progress(), UnixNowMs()); });
  status->SetWorkers([this] { return workers.Statuses(); });
  status->SetFailures([d = detector.get()] { return FailureViewFromDetector(*d); });
  safety_scanner = std::make_unique<SafetyScanner>(*status, std::chrono::seconds(30));
  status->ExportMetrics(registry);
}

void Gateway::Impl::StartJobs() {
  if (meta->shared()) {
    // Gateways sharing the database run each job once, on its lease's holder; the node
    // states (a cache of drains) are followed by every gateway, and every gateway's safety
    // scanner refreshes its own status metrics (it only reads).
    leases = std::make_unique<LeaseKeeper>(*meta, GatewayName(config.data_dir), kLeaseTtl);
    for (Worker* w :
         std::initializer_list<Worker*>{deleter.get(), expiry.get(), lifecycle.get(), sweeper.get(),
                                        repairer.get(), detector.get(), backup.get()}) {
      leases->Guard(*w);
    }
    for (Worker* w : scrubber->workers()) leases->Guard(*w);
    workers.Run(*leases);
    workers.Run(*journal);
  }
  workers.Run(*node_states);
  workers.Run(*deleter);
  workers.Run(*expiry);
  workers.Run(*lifecycle);
  for (Worker* w : scrubber->workers()) workers.Run(*w);
  if (config.orphan_sweep_interval.count() > 0) workers.Run(*sweeper);
  workers.Run(*repairer);
  workers.Run(*detector);
  workers.Run(*backup);
  workers.Run(*safety_scanner);
}

absl::StatusOr<NewKey> Gateway::CreateKey(const std::string& name,
                                          const std::vector<v1::Grant>& grants,
                                          const KeyOwner& owner) {
  static constexpr char kIdChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  static constexpr char kSecretChars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string random(18 + 40, '\0');
  client::RandomBytes({reinterpret_cast<std::byte*>(random.data()), random.size()});
  NewKey key{"MK", ""};
  for (int i = 0; i < 18; ++i) key.id.push_back(kIdChars[uint8_t(random[i]) % 32]);
  for (int i = 18; i < 58; ++i) key.secret.push_back(kSecretChars[uint8_t(random[i]) % 64]);
  v1::AccessKeyRecord record;
  record.set_id(key.id);
  record.set_name(name);
  record.set_sealed_secret(client::SealMetadata(*impl_->ring, key.secret, key.id));
  for (const auto& g : grants) *record.add_grants() = g;
  record.set_created_ms(UnixNowMs());
  record.set_member(owner.member);
  record.set_expires_ms(owner.expires_ms);
  RETURN_IF_ERROR(impl_->meta->PutKey(record));
  spdlog::info("created access key {} ({})", key.id, name);
  return key;
}

absl::StatusOr<std::vector<v1::AccessKeyRecord>> Gateway::ListKeys() const {
  return impl_->meta->ListKeys();
}

absl::StatusOr<bool> Gateway::DeleteKey(const std::string& id) {
  return impl_->meta->DeleteKey(id);
}

Scrubber& Gateway::scrubber() { return *impl_->scrubber; }
OrphanSweeper& Gateway::sweeper() { return *impl_->sweeper; }

StatusService& Gateway::status() { return *impl_->status; }
NodeStates& Gateway::node_states() { return *impl_->node_states; }

}  // namespace mosaic::gateway
