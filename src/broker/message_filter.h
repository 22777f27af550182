// The filters a pull applies: TAG subscriptions match on the consume-queue tag hash; SQL92
// subscriptions match every tag hash and evaluate the expression over the record's properties
// (RocketMQ's ExpressionMessageFilter). Also used where subscriptions are checked before any
// pull (heartbeats, CHECK_CLIENT_CONFIG).
// Thread-safety: filters are immutable after construction; share them freely.
#pragma once

#include <memory>

#include "ramjet/base/result.h"
#include "ramjet/protocol/bodies.h"
#include "ramjet/store/message_store.h"

namespace ramjet::broker {

// The filter of a TAG subscription ("*" / empty / class-filter mode: everything).
std::shared_ptr<store::MessageFilter> MakeTagFilter(protocol::SubscriptionData sub);

// The filter of a SQL92 subscription. kUnavailable when SQL92 is switched off
// (enablePropertyFilter=false); kInvalidArgument when the type is not SQL92 or the expression
// does not parse (with the position).
Result<std::shared_ptr<store::MessageFilter>> MakeSqlFilter(const protocol::SubscriptionData& sub,
                                                            bool property_filter_enabled);

// The filter of any subscription: TAG or SQL92, as above.
Result<std::shared_ptr<store::MessageFilter>> MakeFilter(const protocol::SubscriptionData& sub,
                                                         bool property_filter_enabled);

// The response code of a MakeSqlFilter failure: SYSTEM_ERROR when SQL92 is off,
// SUBSCRIPTION_PARSE_FAILED otherwise.
int32_t SubscriptionErrorCode(const Status& s);

}  // namespace ramjet::broker
