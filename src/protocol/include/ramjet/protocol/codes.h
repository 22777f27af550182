// RocketMQ request and response codes (4.9.x numbering, see docs/formats/remoting.md).
#pragma once

#include <cstdint>
#include <string_view>

namespace ramjet::protocol {

namespace request_code {
inline constexpr int32_t kSendMessage = 10;
inline constexpr int32_t kPullMessage = 11;
inline constexpr int32_t kQueryMessage = 12;
inline constexpr int32_t kQueryConsumerOffset = 14;
inline constexpr int32_t kUpdateConsumerOffset = 15;
inline constexpr int32_t kUpdateAndCreateTopic = 17;
inline constexpr int32_t kGetAllTopicConfig = 21;
inline constexpr int32_t kUpdateBrokerConfig = 25;
inline constexpr int32_t kGetBrokerConfig = 26;
inline constexpr int32_t kGetBrokerRuntimeInfo = 28;
inline constexpr int32_t kSearchOffsetByTimestamp = 29;
inline constexpr int32_t kGetMaxOffset = 30;
inline constexpr int32_t kGetMinOffset = 31;
inline constexpr int32_t kGetEarliestMsgStoretime = 32;
inline constexpr int32_t kViewMessageById = 33;
inline constexpr int32_t kHeartBeat = 34;
inline constexpr int32_t kUnregisterClient = 35;
inline constexpr int32_t kConsumerSendMsgBack = 36;
inline constexpr int32_t kEndTransaction = 37;
inline constexpr int32_t kGetConsumerListByGroup = 38;
inline constexpr int32_t kCheckTransactionState = 39;
inline constexpr int32_t kNotifyConsumerIdsChanged = 40;
inline constexpr int32_t kLockBatchMq = 41;
inline constexpr int32_t kUnlockBatchMq = 42;
inline constexpr int32_t kGetAllConsumerOffset = 43;
inline constexpr int32_t kGetAllDelayOffset = 45;
inline constexpr int32_t kCheckClientConfig = 46;
inline constexpr int32_t kPutKvConfig = 100;
inline constexpr int32_t kGetKvConfig = 101;
inline constexpr int32_t kDeleteKvConfig = 102;
inline constexpr int32_t kRegisterBroker = 103;
// ACL 1.0 administration (plain_acl.yml).
inline constexpr int32_t kUpdateAndCreateAclConfig = 50;
inline constexpr int32_t kDeleteAclConfig = 51;
inline constexpr int32_t kGetBrokerClusterAclInfo = 52;
inline constexpr int32_t kUpdateGlobalWhiteAddrsConfig = 53;
inline constexpr int32_t kUnregisterBroker = 104;
inline constexpr int32_t kGetRouteinfoByTopic = 105;
inline constexpr int32_t kGetBrokerClusterInfo = 106;
inline constexpr int32_t kUpdateAndCreateSubscriptionGroup = 200;
inline constexpr int32_t kGetAllSubscriptionGroupConfig = 201;
inline constexpr int32_t kGetTopicStatsInfo = 202;
inline constexpr int32_t kGetConsumerConnectionList = 203;
inline constexpr int32_t kGetProducerConnectionList = 204;
inline constexpr int32_t kWipeWritePermOfBroker = 205;
// RocketMQ 5 sends it to its controller; here every member of a group in controller mode takes
// it (clusterName, brokerName, brokerId: the member to switch to).
inline constexpr int32_t kControllerElectMaster = 1002;
inline constexpr int32_t kGetAllTopicListFromNameserver = 206;
inline constexpr int32_t kDeleteSubscriptionGroup = 207;
inline constexpr int32_t kGetConsumeStats = 208;
inline constexpr int32_t kDeleteTopicInBroker = 215;
inline constexpr int32_t kDeleteTopicInNamesrv = 216;
inline constexpr int32_t kGetKvlistByNamespace = 219;
inline constexpr int32_t kResetConsumerClientOffset = 220;
inline constexpr int32_t kGetConsumerStatusFromClient = 221;
inline constexpr int32_t kInvokeBrokerToResetOffset = 222;
inline constexpr int32_t kInvokeBrokerToGetConsumerStatus = 223;
inline constexpr int32_t kGetTopicsByCluster = 224;
inline constexpr int32_t kQueryTopicConsumeByWho = 300;
inline constexpr int32_t kQueryConsumeTimeSpan = 303;
inline constexpr int32_t kGetSystemTopicListFromNs = 304;
inline constexpr int32_t kGetSystemTopicListFromBroker = 305;
inline constexpr int32_t kCleanExpiredConsumequeue = 306;
inline constexpr int32_t kGetConsumerRunningInfo = 307;
inline constexpr int32_t kQueryCorrectionOffset = 308;
inline constexpr int32_t kConsumeMessageDirectly = 309;
inline constexpr int32_t kSendMessageV2 = 310;
inline constexpr int32_t kGetUnitTopicList = 311;
inline constexpr int32_t kGetHasUnitSubTopicList = 312;
inline constexpr int32_t kGetHasUnitSubUnunitTopicList = 313;
inline constexpr int32_t kCloneGroupOffset = 314;
inline constexpr int32_t kViewBrokerStatsData = 315;
inline constexpr int32_t kCleanUnusedTopic = 316;
inline constexpr int32_t kGetBrokerConsumeStats = 317;
inline constexpr int32_t kUpdateNamesrvConfig = 318;
inline constexpr int32_t kGetNamesrvConfig = 319;
inline constexpr int32_t kSendBatchMessage = 320;
inline constexpr int32_t kSendReplyMessage = 324;
inline constexpr int32_t kSendReplyMessageV2 = 325;
inline constexpr int32_t kPushReplyMessageToClient = 326;
inline constexpr int32_t kQueryConsumeQueue = 321;
inline constexpr int32_t kQueryDataVersion = 322;
inline constexpr int32_t kAddWritePermOfBroker = 327;
inline constexpr int32_t kDeleteExpiredCommitlog = 329;
// 5.x: the lite pull consumer pulls with this code (same header and answer as PULL_MESSAGE).
inline constexpr int32_t kLitePullMessage = 361;
// 5.x: recall a timer message before it is delivered (header topic, producerGroup, recallHandle).
inline constexpr int32_t kRecallMessage = 370;
// 5.x server-side assignment (QueryAssignmentProcessor): the queues of a consumer, each with
// its request mode (PULL or POP), and the admin call that sets the mode of a topic and group.
inline constexpr int32_t kQueryAssignment = 400;
inline constexpr int32_t kSetMessageRequestMode = 401;
inline constexpr int32_t kGetAllMessageRequestMode = 402;
// 5.x POP consumption (the codes do not fit the 16-bit binary header: JSON headers only).
inline constexpr int32_t kPopMessage = 200050;
inline constexpr int32_t kAckMessage = 200051;
inline constexpr int32_t kPeekMessage = 200052;
inline constexpr int32_t kChangeMessageInvisibleTime = 200053;
inline constexpr int32_t kNotification = 200054;
inline constexpr int32_t kPollingInfo = 200055;
inline constexpr int32_t kBatchAckMessage = 200151;
// ACL 2.0 (5.3+): users and their policies (AdminBrokerProcessor).
inline constexpr int32_t kAuthCreateUser = 3001;
inline constexpr int32_t kAuthUpdateUser = 3002;
inline constexpr int32_t kAuthDeleteUser = 3003;
inline constexpr int32_t kAuthGetUser = 3004;
inline constexpr int32_t kAuthListUser = 3005;
inline constexpr int32_t kAuthCreateAcl = 3006;
inline constexpr int32_t kAuthUpdateAcl = 3007;
inline constexpr int32_t kAuthDeleteAcl = 3008;
inline constexpr int32_t kAuthGetAcl = 3009;
inline constexpr int32_t kAuthListAcl = 3010;
}  // namespace request_code

namespace response_code {
inline constexpr int32_t kSuccess = 0;
inline constexpr int32_t kSystemError = 1;
inline constexpr int32_t kSystemBusy = 2;
inline constexpr int32_t kRequestCodeNotSupported = 3;
inline constexpr int32_t kFlushDiskTimeout = 10;
inline constexpr int32_t kSlaveNotAvailable = 11;
inline constexpr int32_t kFlushSlaveTimeout = 12;
inline constexpr int32_t kMessageIllegal = 13;
inline constexpr int32_t kServiceNotAvailable = 14;
inline constexpr int32_t kVersionNotSupported = 15;
inline constexpr int32_t kUpdateAndCreateAclConfigFailed = 209;
inline constexpr int32_t kDeleteAclConfigFailed = 210;
inline constexpr int32_t kUpdateGlobalWhiteAddrsConfigFailed = 211;
inline constexpr int32_t kNoPermission = 16;
inline constexpr int32_t kTopicNotExist = 17;
inline constexpr int32_t kTopicExistAlready = 18;
inline constexpr int32_t kPullNotFound = 19;
inline constexpr int32_t kPullRetryImmediately = 20;
inline constexpr int32_t kPullOffsetMoved = 21;
inline constexpr int32_t kQueryNotFound = 22;
inline constexpr int32_t kSubscriptionParseFailed = 23;
inline constexpr int32_t kSubscriptionNotExist = 24;
inline constexpr int32_t kSubscriptionNotLatest = 25;
inline constexpr int32_t kSubscriptionGroupNotExist = 26;
inline constexpr int32_t kInvalidParameter = 29;
inline constexpr int32_t kConsumerNotOnline = 206;
inline constexpr int32_t kConsumeMsgTimeout = 207;
// POP (5.x): an ack or change of a message the queue no longer holds; too many parked pops; a
// long-polling pop that found nothing.
inline constexpr int32_t kNoMessage = 208;
inline constexpr int32_t kPollingFull = 209;
inline constexpr int32_t kPollingTimeout = 210;
}  // namespace response_code

// What Apache RocketMQ appends to the remarks of some refusals (FAQUrl.suggestTodo); clients
// show the remark as it is, and the Java client adds its own hint only when this is missing.
inline constexpr std::string_view kFaqSuffix =
    "\nSee http://rocketmq.apache.org/docs/faq/ for further details.";

// MQVersion ordinals we use.
inline constexpr int32_t kVersionV4_9_8 = 409;

}  // namespace ramjet::protocol
