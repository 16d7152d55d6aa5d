-- mamori.db at schema version 6 (tests/data/schema/generate.py)
BEGIN TRANSACTION;
CREATE TABLE accounts (
  account TEXT NOT NULL PRIMARY KEY,
  locked INTEGER NOT NULL DEFAULT 0,
  lock_reason TEXT NOT NULL DEFAULT '',
  lock_since_ms INTEGER NOT NULL DEFAULT 0,
  lock_password_reset INTEGER NOT NULL DEFAULT 0,
  lock_by TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '',
  lang TEXT NOT NULL DEFAULT 'en',
  notify INTEGER NOT NULL DEFAULT 1,
  has_last_login INTEGER NOT NULL DEFAULT 0,
  last_login_ms INTEGER NOT NULL DEFAULT 0,
  last_login_ip TEXT NOT NULL DEFAULT '',
  last_login_country TEXT NOT NULL DEFAULT ''
, time_zone TEXT NOT NULL DEFAULT '') WITHOUT ROWID;
INSERT INTO "accounts" VALUES('alice',1,'fixture lock',1796631023832,1,'operator','','en',1,0,0,'','','');
INSERT INTO "accounts" VALUES('bob',0,'',0,0,'','bob@example.com','ja',1,0,0,'','','Asia/Tokyo');
CREATE TABLE blocks (
  scope TEXT NOT NULL,
  block_key TEXT NOT NULL,
  reason TEXT NOT NULL,
  action TEXT NOT NULL,
  since_ms INTEGER NOT NULL,
  until_ms INTEGER NOT NULL,
  incident_id TEXT NOT NULL,
  PRIMARY KEY (scope, block_key)
) WITHOUT ROWID;
INSERT INTO "blocks" VALUES('ip','203.0.113.50','credential_stuffing','deny',1796631023892,1796634623892,'01a24f8dd1147621a320');
CREATE TABLE incident_accounts (
  incident_id TEXT NOT NULL,
  account TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  login_succeeded INTEGER NOT NULL,
  PRIMARY KEY (incident_id, account)
) WITHOUT ROWID;
INSERT INTO "incident_accounts" VALUES('01a24f8dd1147621a320','stuffed1',1796631023887,1796631023887,0);
INSERT INTO "incident_accounts" VALUES('01a24f8dd1147621a320','stuffed2',1796631023889,1796631023889,0);
INSERT INTO "incident_accounts" VALUES('01a24f8dd1147621a320','stuffed3',1796631023890,1796631023890,0);
INSERT INTO "incident_accounts" VALUES('01a24f8dd1147621a320','stuffed4',1796631023891,1796631023891,0);
INSERT INTO "incident_accounts" VALUES('01a24f8dd1147621a320','stuffed5',1796631023892,1796631023892,0);
INSERT INTO "incident_accounts" VALUES('01a24f8dd1147621a320','stuffed6',1796631023893,1796631023893,0);
CREATE TABLE incidents (
  id TEXT NOT NULL PRIMARY KEY,
  kind TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  sources TEXT NOT NULL,
  accounts_targeted INTEGER NOT NULL,
  accounts_compromised INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO "incidents" VALUES('01a24f8dd1147621a320','credential_stuffing',1796631023887,1796631023893,'203.0.113.50',6,0);
CREATE TABLE list_entries (
  id TEXT NOT NULL PRIMARY KEY,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER
) WITHOUT ROWID;
INSERT INTO "list_entries" VALUES('01a24f8dd0e47621a30f','deny','203.0.113.9','fixture deny',1796631023844,NULL);
INSERT INTO "list_entries" VALUES('01a24f8dd0e97621a310','allow','198.51.100.0/24','office',1796631023849,NULL);
INSERT INTO "list_entries" VALUES('01a24f8dd0ea7621a311','deny','account:mallory','fixture ttl',1796631023850,2111991023850);
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO "meta" VALUES('data_dir_id','6313609c07a7068f70f88062e75b79d7');
CREATE TABLE outbox (
  id TEXT NOT NULL PRIMARY KEY,
  channel TEXT NOT NULL,
  destination TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'pending',
  done_ms INTEGER
) WITHOUT ROWID;
CREATE TABLE totp (
  account TEXT NOT NULL PRIMARY KEY,
  sealed_secret BLOB NOT NULL,
  confirmed INTEGER NOT NULL,
  last_step INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  confirmed_ms INTEGER,
  recovery_codes TEXT NOT NULL,
  failures TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO "totp" VALUES('carol',X'0199EE43D906C635E7547035FD83D39CE6F3C4CD5DDB22489D0EBB109D2C3CC3747FC054427DCCBEBE7D2831C0215F828802BD364D5468915170EAF9A0FD0795E7CE77CCB8',1,59886628,1796598897067,1796598897098,'52123707fc58cf1a3c44c7f598cf25cb006b16c94d67da85d2e752d749df3d23:0,a774e114c01fde9196c445efab981e96afd1805c619fcfc955b8d4873e0a3bb2:0,724f8275a04e8dc268c8079faedc6e9c1915cb737e7f7ed7e5853d9632a37095:0,0b320d475b064dc5a3701b56a02de5caac694b5a5542aac981ebb46193642fd4:0,27660819c86a62bbe062ff36f13471b55cc4d50c1717a86c898412b5effb5ef3:0,68664c66bb04d0ad5d78d90df495b590b6f492a19e9b416a3026a9c9c4b7a1e8:0,3d3f58359eb32b3c8f679040fac5f8957161256bc2143ffe1b01e6644febfddd:0,a0049e41fc758db90a8939482ac8928510c52905df5e6363ec3743d9d652eb93:0,8147782ee395400b60ab0176bc6cde966cbcc3ba57d7e7812cd00158f220c63c:0,20164bb66415a9fd6fb9cdedad7c66f5380b359730415526d2d31a6e4e72bd51:0','');
CREATE INDEX accounts_locked ON accounts(account) WHERE locked = 1;
CREATE INDEX incidents_last_seen ON incidents(last_seen_ms);
CREATE INDEX incident_accounts_account ON incident_accounts(account);
CREATE INDEX blocks_until ON blocks(until_ms);
CREATE INDEX outbox_state_next ON outbox(state, next_attempt_ms);
CREATE INDEX outbox_done ON outbox(done_ms) WHERE state != 'pending';
COMMIT;
PRAGMA user_version=6;
