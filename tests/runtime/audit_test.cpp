#include "runtime/audit.hpp"

#include <sqlite3.h>

#include <sstream>

#include <gtest/gtest.h>

#include "runtime/audit_verify.hpp"
#include "runtime/codec.hpp"
#include "runtime/sqlite_store.hpp"
#include "runtime_test_support.hpp"

namespace portcullis::runtime {
namespace {

using namespace portcullis::runtime::testing;

audit::Entry entry(std::int64_t seq, std::string text) {
  audit::Entry e;
  e.seq = seq;
  e.request_id = "req-1";
  e.at = 1700000000;
  e.kind = "approved";
  e.actor = "dana@acme.com";
  e.text = std::move(text);
  e.payload = "{}";
  return e;
}

TEST(Audit, Sha256MatchesTheKnownVector) {
  EXPECT_EQ(audit::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Audit, CanonicalFormIsLengthPrefixedSoFieldsCannotBleed) {
  audit::Entry a = entry(1, "x");
  a.kind = "ab";
  a.actor = "c";
  audit::Entry b = entry(1, "x");
  b.kind = "a";
  b.actor = "bc";
  EXPECT_NE(audit::canonical(a), audit::canonical(b));
  EXPECT_EQ(audit::canonical(entry(7, "hi")),
            "1:7\n5:req-1\n10:1700000000\n8:approved\n13:dana@acme.com\n2:hi\n2:{}\n");
}

TEST(Audit, VerifierFindsTheFirstBrokenEntry) {
  std::vector<audit::Entry> chain;
  std::string prev(audit::kGenesisHash);
  for (int i = 1; i <= 5; ++i) {
    audit::Entry e = entry(i, "entry " + std::to_string(i));
    e.prev_hash = prev;
    e.hash = audit::compute_hash(prev, e);
    prev = e.hash;
    chain.push_back(e);
  }
  {
    audit::ChainVerifier v;
    for (const auto& e : chain) EXPECT_TRUE(v.check(e));
    EXPECT_FALSE(v.problem());
    EXPECT_EQ(v.checked(), 5);
    EXPECT_EQ(v.head(), chain.back().hash);
  }
  {
    auto tampered = chain;
    tampered[3].text = "entry four, edited";
    audit::ChainVerifier v;
    for (const auto& e : tampered) v.check(e);
    ASSERT_TRUE(v.problem());
    EXPECT_EQ(v.problem()->seq, 4);
    EXPECT_EQ(v.checked(), 3);
  }
}

TEST(AuditVerifyCommand, ReportsOkThenTheFirstBrokenEntry) {
  TempDb tmp;
  {
    SqliteOptions options;
    options.path = tmp.path();
    auto store = open_sqlite_store(options);
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 3; ++i) {
      Commit c;
      c.state = sample_state("req-" + std::to_string(i));
      c.audit = {AuditInput{"submitted", "sam@acme.com", "asked", codec::Json::object()}};
      c.now = 1000 + i;
      ASSERT_TRUE((*store)->commit(std::move(c)).ok());
    }
  }
  std::ostringstream out, err;
  EXPECT_EQ(run_audit_verify({tmp.path(), std::nullopt, false}, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("audit chain ok: 3 entries, head 3:"), std::string::npos) << out.str();
  const std::string head = out.str().substr(out.str().find("head ") + 5, 66);

  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(tmp.path().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DROP TRIGGER audit_no_update; UPDATE audit SET text = 'nothing' WHERE seq = 2",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  out.str("");
  EXPECT_EQ(run_audit_verify({tmp.path(), head, false}, out, err), 1);
  EXPECT_NE(out.str().find("audit chain broken at entry 2: hash does not match"), std::string::npos) << out.str();
  out.str("");
  EXPECT_EQ(run_audit_verify({tmp.path(), std::nullopt, true}, out, err), 1);
  auto json = codec::parse(out.str());
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)["first_bad_seq"], 2);
  EXPECT_EQ((*json)["ok"], false);

  err.str("");
  EXPECT_EQ(run_audit_verify({tmp.path(), std::string("3:xyz"), false}, out, err), 2);
  EXPECT_NE(err.str().find("--head must be SEQ:HASH"), std::string::npos);
  err.str("");
  EXPECT_EQ(run_audit_verify({"/tmp/portcullis_no_such_file.db", std::nullopt, false}, out, err), 2);
  EXPECT_NE(err.str().find("cannot open database"), std::string::npos) << err.str();
  EXPECT_FALSE(std::filesystem::exists("/tmp/portcullis_no_such_file.db"));  // verify never creates a file
}

}  // namespace
}  // namespace portcullis::runtime
