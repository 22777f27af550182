// Shared by ramjet-admin's command files (admin_main.cc, admin_acl.cc): parsed options, error
// output, the brokers a command targets, the ACL credentials of the environment.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "ramjet/admin/admin.h"

namespace ramjet::apps {

struct Args {
  std::string sub;
  std::map<char, std::string> opt;
  bool Has(char c) const { return opt.count(c) > 0; }
  std::string Get(char c, std::string def = {}) const {
    auto it = opt.find(c);
    return it == opt.end() ? def : it->second;
  }
};

inline int Fail(const std::string& msg) {
  std::fprintf(stderr, "ERROR: %s\n", msg.c_str());
  return 1;
}
inline int Fail(const Status& s) { return Fail(std::string(s.message())); }

// -b brokerAddr, or every master of -c cluster.
inline Result<std::vector<std::string>> TargetBrokers(admin::Admin& adm, const Args& a) {
  if (a.Has('b')) return std::vector<std::string>{a.Get('b')};
  if (a.Has('c')) return adm.MasterAddrs(a.Get('c'));
  return Status::InvalidArgument(a.sub + " needs -b brokerAddr or -c clusterName");
}

// ACL 1.0: the account every request is signed with, from RAMJET_ACCESS_KEY /
// RAMJET_SECRET_KEY (mqadmin reads them from conf/tools.yml); unsigned when unset.
// TLS (mqadmin's -Dtls.enable=true): RAMJET_TLS_ENABLE=true makes every connection TLS;
// RAMJET_TLS_TRUST_CERT_PATH also verifies servers against those CAs. Null: plaintext.
inline std::shared_ptr<remoting::TlsContext> TlsFromEnv() {
  const char* on = std::getenv("RAMJET_TLS_ENABLE");
  if (on == nullptr || std::string_view(on) != "true") return nullptr;
  remoting::TlsOptions o;
  if (const char* trust = std::getenv("RAMJET_TLS_TRUST_CERT_PATH"); trust && *trust) {
    o.verify_server = true;
    o.trust_cert_path = trust;
  }
  auto ctx = remoting::TlsContext::ForClient(o);
  if (!ctx.ok()) {
    std::fprintf(stderr, "RAMJET_TLS_ENABLE: %s\n", ctx.status().ToString().c_str());
    std::exit(2);
  }
  return *ctx;
}

inline acl::Credentials CredentialsFromEnv() {
  const char* ak = std::getenv("RAMJET_ACCESS_KEY");
  const char* sk = std::getenv("RAMJET_SECRET_KEY");
  acl::Credentials c;
  if (ak != nullptr && sk != nullptr) {
    c.access_key = ak;
    c.secret_key = sk;
  }
  return c;
}

// The ACL subcommands (admin_acl.cc).
int CmdUpdateAclConfig(admin::Admin& adm, const Args& a);
int CmdDeleteAclConfig(admin::Admin& adm, const Args& a);
int CmdUpdateGlobalWhiteAddr(admin::Admin& adm, const Args& a);
int CmdClusterAclConfigVersion(admin::Admin& adm, const Args& a);

// The ACL 2.0 subcommands (admin_auth.cc).
int CmdCreateUser(admin::Admin& adm, const Args& a);
int CmdUpdateUser(admin::Admin& adm, const Args& a);
int CmdDeleteUser(admin::Admin& adm, const Args& a);
int CmdGetUser(admin::Admin& adm, const Args& a);
int CmdListUser(admin::Admin& adm, const Args& a);
int CmdCreateAcl(admin::Admin& adm, const Args& a);
int CmdUpdateAcl(admin::Admin& adm, const Args& a);
int CmdDeleteAcl(admin::Admin& adm, const Args& a);
int CmdGetAcl(admin::Admin& adm, const Args& a);
int CmdListAcl(admin::Admin& adm, const Args& a);

}  // namespace ramjet::apps
