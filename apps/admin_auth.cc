// ramjet-admin's ACL 2.0 subcommands, with mqadmin 5.x's names, option letters and tables:
// createUser, updateUser, deleteUser, getUser, listUser, createAcl, updateAcl, deleteAcl, getAcl,
// listAcl. Writes go to -b brokerAddr or to every broker (masters and slaves) of -c cluster;
// reads to -b or the masters of -c. The caller signs with RAMJET_ACCESS_KEY/RAMJET_SECRET_KEY (a
// Super user, or one with Update/Get on Cluster:<cluster>).
#include "admin_cli.h"
#include "ramjet/acl/auth_model.h"
#include "ramjet/base/config.h"
#include "ramjet/protocol/codes.h"

namespace ramjet::apps {

namespace req = protocol::request_code;

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::vector<std::string> Split(const std::string& s) { return ramjet::SplitList(s, ','); }

Result<std::vector<std::string>> WriteTargets(admin::Admin& adm, const Args& a) {
  if (a.Has('b')) return std::vector<std::string>{a.Get('b')};
  if (a.Has('c')) return adm.AllBrokerAddrs(a.Get('c'));
  return Status::InvalidArgument(a.sub + " needs -b brokerAddr or -c clusterName");
}

int Write(admin::Admin& adm, const Args& a, const char* what, int32_t code, const Fields& fields,
          const std::string& body) {
  auto targets = WriteTargets(adm, a);
  if (!targets.ok()) return Fail(targets.status());
  for (const auto& addr : *targets) {
    auto r = adm.AuthCall(addr, code, fields, body);
    if (!r.ok()) return Fail(r.status());
    std::printf("%s to %s success.\n", what, addr.c_str());
  }
  return 0;
}

constexpr char kUserRow[] = "%-16s  %-22s  %-22s  %-22s\n";
constexpr char kAclRow[] = "%-16s  %-10s  %-22s  %-20s  %-24s  %-10s\n";

void PrintUsers(const std::vector<acl::UserInfo>& users) {
  std::printf(kUserRow, "#UserName", "#Password", "#UserType", "#UserStatus");
  for (const auto& u : users) {
    std::printf(kUserRow, u.username.value_or("").c_str(), u.password.value_or("").c_str(),
                u.user_type.value_or("").c_str(), u.user_status.value_or("").c_str());
  }
}

std::string JavaList(const std::vector<std::string>& v) {
  if (v.empty()) return "null";
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out + "]";
}

void PrintAcls(const std::vector<acl::Acl>& acls) {
  std::printf(kAclRow, "#Subject", "#PolicyType", "#Resource", "#Actions", "#SourceIp",
              "#Decision");
  for (const auto& acl : acls) {
    for (const auto& p : acl.policies) {
      for (const auto& e : p.entries) {
        std::printf(kAclRow, acl.subject.c_str(), std::string(acl::Name(p.type)).c_str(),
                    e.resource.Key().c_str(), JavaList(acl::ActionNames(e.actions)).c_str(),
                    JavaList(e.source_ips).c_str(), std::string(acl::Name(e.decision)).c_str());
      }
    }
  }
}

// mqadmin's AclInfo.of: one (Custom) policy, an entry per resource with the same actions,
// source addresses and decision.
// A JSON string literal of s.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string QuotedList(const std::string& csv) {
  std::string out = "[";
  for (const auto& x : Split(csv)) {
    if (out.size() > 1) out += ',';
    out += Quote(x);
  }
  out += ']';
  return out;
}

std::string AclBody(const Args& a) {
  std::string entries;
  for (const auto& r : Split(a.Get('r'))) {
    if (!entries.empty()) entries += ',';
    entries += "{\"resource\":";
    entries += Quote(r);
    entries += ",\"actions\":";
    entries += QuotedList(a.Get('a'));
    entries += ",\"sourceIps\":";
    entries += QuotedList(a.Get('i'));
    entries += ",\"decision\":";
    entries += Quote(a.Get('d'));
    entries += '}';
  }
  std::string body = "{\"subject\":";
  body += Quote(a.Get('s'));
  body += ",\"policies\":[{\"entries\":[";
  body += entries;
  body += "]}]}";
  return body;
}

}  // namespace

int CmdCreateUser(admin::Admin& adm, const Args& a) {
  acl::UserInfo u{a.Get('u'), a.Get('p'), std::nullopt, std::nullopt};
  if (a.Has('t')) u.user_type = a.Get('t');
  return Write(adm, a, "create user", req::kAuthCreateUser, {{"username", a.Get('u')}}, u.ToJson());
}

int CmdUpdateUser(admin::Admin& adm, const Args& a) {
  acl::UserInfo u{a.Get('u'), std::nullopt, std::nullopt, std::nullopt};
  if (a.Has('p')) u.password = a.Get('p');
  if (a.Has('t')) u.user_type = a.Get('t');
  if (a.Has('s')) u.user_status = a.Get('s');
  return Write(adm, a, "update user", req::kAuthUpdateUser, {{"username", a.Get('u')}}, u.ToJson());
}

int CmdDeleteUser(admin::Admin& adm, const Args& a) {
  return Write(adm, a, "delete user", req::kAuthDeleteUser, {{"username", a.Get('u')}}, "");
}

int CmdGetUser(admin::Admin& adm, const Args& a) {
  auto targets = TargetBrokers(adm, a);
  if (!targets.ok()) return Fail(targets.status());
  for (const auto& addr : *targets) {
    auto body = adm.AuthCall(addr, req::kAuthGetUser, {{"username", a.Get('u')}});
    if (!body.ok()) return Fail(body.status());
    if (body->empty()) continue;
    auto u = acl::UserInfo::Parse(*body);
    if (!u.ok()) return Fail(u.status());
    PrintUsers({*u});
    return 0;
  }
  return 0;
}

int CmdListUser(admin::Admin& adm, const Args& a) {
  auto targets = TargetBrokers(adm, a);
  if (!targets.ok()) return Fail(targets.status());
  for (const auto& addr : *targets) {
    auto body = adm.AuthCall(addr, req::kAuthListUser, {{"filter", a.Get('f')}});
    if (!body.ok()) return Fail(body.status());
    auto users = acl::ParseUserInfos(*body);
    if (!users.ok()) return Fail(users.status());
    if (users->empty()) continue;
    PrintUsers(*users);
    std::printf("get user from %s success.\n", addr.c_str());
    return 0;
  }
  return 0;
}

int CmdCreateAcl(admin::Admin& adm, const Args& a) {
  return Write(adm, a, "create acl", req::kAuthCreateAcl, {{"subject", a.Get('s')}}, AclBody(a));
}

int CmdUpdateAcl(admin::Admin& adm, const Args& a) {
  return Write(adm, a, "update acl", req::kAuthUpdateAcl, {{"subject", a.Get('s')}}, AclBody(a));
}

int CmdDeleteAcl(admin::Admin& adm, const Args& a) {
  Fields f = {{"subject", a.Get('s')}};
  if (a.Has('r')) f.emplace_back("resource", a.Get('r'));
  return Write(adm, a, "delete acl", req::kAuthDeleteAcl, f, "");
}

int CmdGetAcl(admin::Admin& adm, const Args& a) {
  auto targets = TargetBrokers(adm, a);
  if (!targets.ok()) return Fail(targets.status());
  for (const auto& addr : *targets) {
    auto body = adm.AuthCall(addr, req::kAuthGetAcl, {{"subject", a.Get('s')}});
    if (!body.ok()) return Fail(body.status());
    if (body->empty()) continue;
    auto acl = acl::ParseAclInfo(*body, "");
    if (!acl.ok()) return Fail(acl.status());
    PrintAcls({*acl});
  }
  return 0;
}

int CmdListAcl(admin::Admin& adm, const Args& a) {
  auto targets = TargetBrokers(adm, a);
  if (!targets.ok()) return Fail(targets.status());
  for (const auto& addr : *targets) {
    auto body = adm.AuthCall(addr, req::kAuthListAcl,
                             {{"subjectFilter", a.Get('s')}, {"resourceFilter", a.Get('r')}});
    if (!body.ok()) return Fail(body.status());
    auto acls = acl::ParseAclInfos(*body);
    if (!acls.ok()) return Fail(acls.status());
    if (!acls->empty()) PrintAcls(*acls);
  }
  return 0;
}

}  // namespace ramjet::apps
