#ifndef MAMORI_STORE_STORE_H_
#define MAMORI_STORE_STORE_H_

#include "store/activity_log.h"
#include "store/commits.h"
#include "store/outbox_store.h"
#include "store/profile_store.h"
#include "store/record_store.h"

namespace mamori::store {

// The durable store as a backend implements it and the daemon opens it:
// every role (the activity log, profiles, the relational records, the
// outbox) over one commit sequence. The embedded backend is EmbeddedStore
// (store/embedded/): SQLite (store/sqlite/) for the records and the outbox
// and journals (store/journal/) for the activity log and the profiles, whose
// one batch may carry writes of every role; a distributed one may follow.
//
// Consumers take the roles they use (and Commits when they wait for their
// writes), the engine and the API handler, which use most of them, the
// whole. The roles derive from nothing and hold no state, so this class
// inherits each once: there is no diamond, and a Store converts to any of
// its roles.
//
// Thread-safe: any method from any thread.
class Store : public Commits,
              public ActivityLog,
              public ProfileStore,
              public RecordStore,
              public OutboxStore {
 public:
  ~Store() override = default;
};

}  // namespace mamori::store

#endif  // MAMORI_STORE_STORE_H_
