// ramjet-admin's ACL 1.0 subcommands (mqadmin's names and option letters): updateAclConfig,
// deleteAclConfig, updateGlobalWhiteAddr, clusterAclConfigVersion. Each goes to -b brokerAddr or
// every master of -c cluster; the caller needs an admin account (RAMJET_ACCESS_KEY /
// RAMJET_SECRET_KEY) when the brokers have aclEnable.
#include "admin_cli.h"

namespace ramjet::apps {

namespace {

// Runs fn on every target broker, printing mqadmin's line per broker.
template <typename Fn>
int ForEachBroker(admin::Admin& adm, const Args& a, const char* what, Fn fn) {
  auto targets = TargetBrokers(adm, a);
  if (!targets.ok()) return Fail(targets.status());
  for (const auto& addr : *targets) {
    if (Status s = fn(addr); !s.ok()) return Fail(s);
    std::printf("%s to %s success.\n", what, addr.c_str());
  }
  return 0;
}

}  // namespace

int CmdUpdateAclConfig(admin::Admin& adm, const Args& a) {
  std::map<std::string, std::string> fields = {{"accessKey", a.Get('a')}};
  const std::pair<char, const char*> letters[] = {{'s', "secretKey"},
                                                  {'w', "whiteRemoteAddress"},
                                                  {'i', "defaultTopicPerm"},
                                                  {'u', "defaultGroupPerm"},
                                                  {'t', "topicPerms"},
                                                  {'g', "groupPerms"},
                                                  {'m', "admin"}};
  for (const auto& [letter, key] : letters) {
    if (a.Has(letter)) fields[key] = a.Get(letter);
  }
  return ForEachBroker(adm, a, "create or update plain access config",
                       [&](const std::string& addr) { return adm.UpdateAclConfig(addr, fields); });
}

int CmdDeleteAclConfig(admin::Admin& adm, const Args& a) {
  return ForEachBroker(adm, a, "delete plain access config", [&](const std::string& addr) {
    return adm.DeleteAclConfig(addr, a.Get('a'));
  });
}

int CmdUpdateGlobalWhiteAddr(admin::Admin& adm, const Args& a) {
  return ForEachBroker(
      adm, a, "update global white remote addresses",
      [&](const std::string& addr) { return adm.UpdateGlobalWhiteAddrs(addr, a.Get('g')); });
}

int CmdClusterAclConfigVersion(admin::Admin& adm, const Args& a) {
  auto targets = TargetBrokers(adm, a);
  if (!targets.ok()) return Fail(targets.status());
  std::printf("%-20s  %-22s  %-30s  %s\n", "#Cluster Name", "#Broker Name", "#Broker Addr",
              "#AclConfigVersion");
  for (const auto& addr : *targets) {
    auto v = adm.AclConfigVersion(addr);
    if (!v.ok()) return Fail(v.status());
    std::printf("%-20s  %-22s  %-30s  %s\n", v->at("clusterName").c_str(),
                v->at("brokerName").c_str(), v->at("brokerAddr").c_str(), v->at("version").c_str());
  }
  return 0;
}

}  // namespace ramjet::apps
