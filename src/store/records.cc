#include "store/records.h"

#include <array>

namespace mamori::store {

namespace {
constexpr std::array<std::string_view, 2> kListKinds = {"allow", "deny"};
constexpr std::array<std::string_view, 5> kIncidentKinds = {"credential_stuffing", "password_spray",
                                                            "mail_abuse", "message_fanout",
                                                            "distributed_stuffing"};

template <typename E, size_t N>
std::optional<E> lookup(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}
}  // namespace

std::string_view to_string(ListKind k) { return kListKinds[static_cast<size_t>(k)]; }
std::optional<ListKind> list_kind_from_string(std::string_view s) {
  return lookup<ListKind>(kListKinds, s);
}
std::string_view to_string(IncidentKind k) { return kIncidentKinds[static_cast<size_t>(k)]; }
std::optional<IncidentKind> incident_kind_from_string(std::string_view s) {
  return lookup<IncidentKind>(kIncidentKinds, s);
}

namespace {
constexpr std::array<std::string_view, kOutboxChannelCount> kOutboxChannels = {"email", "webhook"};
constexpr std::array<std::string_view, 3> kOutboxStates = {"pending", "delivered", "failed"};
}  // namespace

std::string_view to_string(OutboxChannel c) { return kOutboxChannels[static_cast<size_t>(c)]; }
std::optional<OutboxChannel> outbox_channel_from_string(std::string_view s) {
  return lookup<OutboxChannel>(kOutboxChannels, s);
}
std::string_view to_string(OutboxState s) { return kOutboxStates[static_cast<size_t>(s)]; }
std::optional<OutboxState> outbox_state_from_string(std::string_view s) {
  return lookup<OutboxState>(kOutboxStates, s);
}

}  // namespace mamori::store
