#include "server/gateway/console/accounts.h"

#include <gtest/gtest.h>

#include "server/gateway/console/sessions.h"
#include "server/gateway/meta/tables/access_keys.h"
#include "server/gateway/meta/txn.h"
#include "tests/server/gateway/meta/store_fixture.h"

namespace mosaic::gateway::console {
namespace {

v1::Grant G(const std::string& bucket, v1::Grant::Right right) {
  v1::Grant g;
  g.set_bucket(bucket);
  g.set_right(right);
  return g;
}

class AccountsTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    OpenStore();
    accounts_ = std::make_unique<Accounts>(
        store().backend(), [this] { return now_; }, client::PasswordCost::kMinimum);
    sessions_ = std::make_unique<Sessions>(
        store().backend(), *accounts_,
        SessionOptions{.idle_ms = 10 * 60'000, .absolute_ms = 60 * 60'000});
  }
  void TearDown() override {
    sessions_.reset();
    accounts_.reset();
    StoreFixture::TearDown();
  }
  std::vector<std::string> Actions() {
    auto log = accounts_->AuditLog(100);
    EXPECT_TRUE(log.ok());
    std::vector<std::string> out;
    for (const auto& r : *log) out.push_back(r.action() + " " + r.target());
    return out;
  }

  int64_t now_ = 1'700'000'000'000;
  Actor admin_{"root", "127.0.0.1"};
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<Sessions> sessions_;
};

TEST_F(AccountsTest, AddMemberGivesAOneTimePasswordThatLogsIn) {
  auto password = accounts_->AddMember("ann", false, admin_);
  ASSERT_TRUE(password.ok()) << password.status();
  EXPECT_GE(password->size(), 16u);
  EXPECT_EQ(accounts_->AddMember("ann", true, admin_).status().code(),
            absl::StatusCode::kAlreadyExists);
  auto s = sessions_->Login("ann", *password, "10.1.1.1");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->member, "ann");
  EXPECT_FALSE(s->admin);
  EXPECT_EQ(s->token.size(), 64u);
  EXPECT_NE(s->token, s->csrf);
  auto m = accounts_->GetMember("ann");
  ASSERT_TRUE(m.ok() && *m);
  EXPECT_EQ((*m)->password_hash().find(*password), std::string::npos);
}

TEST_F(AccountsTest, BadNamesAreRefused) {
  for (const std::string& bad :
       std::vector<std::string>{"", "Ann", "-x", "a b", "<img>", std::string(65, 'a')}) {
    EXPECT_EQ(accounts_->AddMember(bad, false, admin_).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(AccountsTest, RightsAreTheUnionOfOwnAndTeamGrants) {
  ASSERT_TRUE(accounts_->AddMember("ann", false, admin_).ok());
  ASSERT_TRUE(accounts_->CreateTeam("press", admin_).ok());
  ASSERT_TRUE(
      accounts_->SetGrant({Subject::Kind::kTeam, "press"}, G("photos", v1::Grant::WRITE), admin_)
          .ok());
  ASSERT_TRUE(
      accounts_->SetGrant({Subject::Kind::kMember, "ann"}, G("notes", v1::Grant::READ), admin_)
          .ok());
  auto grants = accounts_->EffectiveGrants("ann");
  ASSERT_TRUE(grants.ok());
  EXPECT_EQ(grants->size(), 1u);  // not in the team yet
  ASSERT_TRUE(accounts_->SetTeamMembership("ann", "press", true, admin_).ok());
  grants = accounts_->EffectiveGrants("ann");
  ASSERT_TRUE(grants.ok());
  ASSERT_EQ(grants->size(), 2u);
  EXPECT_EQ((*grants)[1].bucket(), "photos");
  // A grant on the same bucket replaces; RIGHT_UNSPECIFIED removes.
  ASSERT_TRUE(
      accounts_->SetGrant({Subject::Kind::kMember, "ann"}, G("notes", v1::Grant::OWNER), admin_)
          .ok());
  ASSERT_TRUE(accounts_
                  ->SetGrant({Subject::Kind::kTeam, "press"},
                             G("photos", v1::Grant::RIGHT_UNSPECIFIED), admin_)
                  .ok());
  grants = accounts_->EffectiveGrants("ann");
  ASSERT_TRUE(grants.ok());
  ASSERT_EQ(grants->size(), 1u);
  EXPECT_EQ((*grants)[0].right(), v1::Grant::OWNER);
  ASSERT_TRUE(accounts_->DeleteTeam("press", admin_).ok());
  auto m = accounts_->GetMember("ann");
  ASSERT_TRUE(m.ok() && *m);
  EXPECT_EQ((*m)->teams_size(), 0);
}

TEST_F(AccountsTest, GrantsOnOnePrefixAndAnotherAreKeptApart) {
  ASSERT_TRUE(accounts_->AddMember("ann", false, admin_).ok());
  Subject ann{Subject::Kind::kMember, "ann"};
  v1::Grant album = G("photos", v1::Grant::WRITE);
  album.set_prefix("album/");
  v1::Grant drafts = G("photos", v1::Grant::READ);
  drafts.set_prefix("drafts/");
  ASSERT_TRUE(accounts_->SetGrant(ann, album, admin_).ok());
  ASSERT_TRUE(accounts_->SetGrant(ann, drafts, admin_).ok());
  auto grants = accounts_->EffectiveGrants("ann");
  ASSERT_TRUE(grants.ok());
  ASSERT_EQ(grants->size(), 2u);
  EXPECT_EQ((*grants)[0].prefix(), "album/");
  EXPECT_EQ((*grants)[1].prefix(), "drafts/");
  // Taking the album's grant away leaves the drafts' one.
  album.set_right(v1::Grant::RIGHT_UNSPECIFIED);
  ASSERT_TRUE(accounts_->SetGrant(ann, album, admin_).ok());
  grants = accounts_->EffectiveGrants("ann");
  ASSERT_TRUE(grants.ok());
  ASSERT_EQ(grants->size(), 1u);
  EXPECT_EQ((*grants)[0].prefix(), "drafts/");
  EXPECT_EQ(Actions().front(), "grant.set member ann photos/album/* RIGHT_UNSPECIFIED");
}

TEST_F(AccountsTest, AKeyIsNeverWiderThanItsMembersGrants) {
  ASSERT_TRUE(accounts_->AddMember("cat", false, admin_).ok());
  ASSERT_TRUE(accounts_->CreateTeam("archive", admin_).ok());
  ASSERT_TRUE(accounts_->SetTeamMembership("cat", "archive", true, admin_).ok());
  v1::Grant folder = G("photos", v1::Grant::WRITE);
  folder.set_prefix("archive/");
  ASSERT_TRUE(accounts_->SetGrant({Subject::Kind::kTeam, "archive"}, folder, admin_).ok());
  // The folder, or a folder inside it, at the right held or a lesser one: allowed.
  EXPECT_TRUE(accounts_->CheckKeyGrants("cat", {folder}).ok());
  v1::Grant deeper = G("photos", v1::Grant::READ);
  deeper.set_prefix("archive/2026/");
  EXPECT_TRUE(accounts_->CheckKeyGrants("cat", {deeper}).ok());
  // The whole bucket, a sibling prefix, a higher right, another bucket, every bucket: refused.
  v1::Grant sibling = G("photos", v1::Grant::READ);
  sibling.set_prefix("archivex/");
  v1::Grant owner = folder;
  owner.set_right(v1::Grant::OWNER);
  v1::Grant star = G("*", v1::Grant::READ);
  star.set_prefix("archive/");
  for (const v1::Grant& wider :
       {G("photos", v1::Grant::READ), sibling, owner, G("legal", v1::Grant::READ), star}) {
    absl::Status s = accounts_->CheckKeyGrants("cat", {folder, wider});
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << wider.ShortDebugString();
  }
  EXPECT_NE(accounts_->CheckKeyGrants("cat", {G("photos", v1::Grant::READ)})
                .message()
                .find("does not hold read on photos"),
            std::string::npos);
  EXPECT_EQ(accounts_->CheckKeyGrants("nobody", {folder}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(accounts_->CheckKeyGrants("cat", {}).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AccountsTest, RemovingAMemberEndsSessionsAndRevokesTheirKeys) {
  auto password = accounts_->AddMember("ann", false, admin_);
  ASSERT_TRUE(password.ok());
  auto s = sessions_->Login("ann", *password, "10.1.1.1");
  ASSERT_TRUE(s.ok());
  v1::AccessKeyRecord mine, other;
  mine.set_id("MKANN");
  mine.set_member("ann");
  other.set_id("MKCLI");
  ASSERT_TRUE(store().PutKey(mine).ok());
  ASSERT_TRUE(store().PutKey(other).ok());
  ASSERT_TRUE(accounts_->RemoveMember("ann", admin_).ok());
  EXPECT_EQ(sessions_->Resolve(s->token).status().code(), absl::StatusCode::kUnauthenticated);
  auto gone = store().GetKey("MKANN");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  auto kept = store().GetKey("MKCLI");
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->has_value());
  EXPECT_EQ(accounts_->RemoveMember("ann", admin_).code(), absl::StatusCode::kNotFound);
}

TEST_F(AccountsTest, SessionsExpireWhenIdleAndAbsolutely) {
  auto password = accounts_->AddMember("ann", true, admin_);
  ASSERT_TRUE(password.ok());
  auto s = sessions_->Login("ann", *password, "10.1.1.1");
  ASSERT_TRUE(s.ok());
  auto r = sessions_->Resolve(s->token);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->admin);
  EXPECT_EQ(r->csrf, s->csrf);
  EXPECT_TRUE(r->token.empty());
  // Used every 9 minutes it stays (idle limit 10), until the absolute hour.
  for (int i = 0; i < 6; ++i) {
    now_ += 9 * 60'000;
    ASSERT_TRUE(sessions_->Resolve(s->token).ok()) << i;
  }
  now_ += 9 * 60'000;
  EXPECT_EQ(sessions_->Resolve(s->token).status().code(), absl::StatusCode::kUnauthenticated);
  auto s2 = sessions_->Login("ann", *password, "10.1.1.1");
  ASSERT_TRUE(s2.ok());
  now_ += 11 * 60'000;
  EXPECT_EQ(sessions_->Resolve(s2->token).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AccountsTest, LogoutAndPasswordChangeEndSessions) {
  auto password = accounts_->AddMember("ann", false, admin_);
  ASSERT_TRUE(password.ok());
  auto s = sessions_->Login("ann", *password, "10.1.1.1");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(sessions_->Logout(s->token).ok());
  EXPECT_FALSE(sessions_->Resolve(s->token).ok());
  s = sessions_->Login("ann", *password, "10.1.1.1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(accounts_->SetPassword("ann", "short", admin_).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(accounts_->SetPassword("ann", "a much longer one", admin_).ok());
  EXPECT_FALSE(sessions_->Resolve(s->token).ok());
  EXPECT_EQ(sessions_->Login("ann", *password, "10.1.1.1").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(sessions_->Login("ann", "a much longer one", "10.1.1.1").ok());
  EXPECT_FALSE(sessions_->Resolve("").ok());
  EXPECT_FALSE(sessions_->Resolve("not-a-token").ok());
}

TEST_F(AccountsTest, WrongPasswordsAreThrottledAndAudited) {
  auto password = accounts_->AddMember("ann", false, admin_);
  ASSERT_TRUE(password.ok());
  for (int i = 0; i < LoginThrottle::kFreeFailures; ++i) {
    EXPECT_EQ(sessions_->Login("ann", "wrong", "10.9.9.9").status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  // Even the right password waits now.
  EXPECT_EQ(sessions_->Login("ann", *password, "10.9.9.9").status().code(),
            absl::StatusCode::kResourceExhausted);
  now_ += 1000;
  EXPECT_TRUE(sessions_->Login("ann", *password, "10.9.9.9").ok());
  auto actions = Actions();
  ASSERT_GE(actions.size(), 8u);
  EXPECT_EQ(actions[0], "login ann");
  EXPECT_EQ(actions[1], "login.throttled ann");
  EXPECT_EQ(actions[2], "login.failed ann");
  EXPECT_EQ(actions.back(), "member.add ann");
  auto log = accounts_->AuditLog(1);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].from(), "10.9.9.9");
}

}  // namespace
// The audit log's rows share the metadata with every other table: a row of another table
// never shows up in it (the lifecycle job's cursor once sat under the audit log's prefix).
TEST_F(AccountsTest, TheAuditLogHoldsOnlyAuditLines) {
  v1::LifecycleCursor cursor;
  cursor.set_bucket("photos");
  cursor.set_next_key("2026/");
  ASSERT_TRUE(store().PutLifecycleCursor(cursor).ok());
  ASSERT_TRUE(accounts_->AddMember("ann", false, admin_).ok());
  EXPECT_EQ(Actions(), std::vector<std::string>{"member.add ann"});
  auto stored = store().GetLifecycleCursor();
  ASSERT_TRUE(stored.ok() && stored->has_value()) << stored.status();
  EXPECT_EQ((*stored)->next_key(), "2026/");
}

}  // namespace mosaic::gateway::console
