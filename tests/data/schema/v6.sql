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
INSERT INTO "totp" VALUES('carol',X'0199EE43D906C635E75B9F26C2B575CEB4EBE52A041CF80894AFC3AE80B6934C329C2E2B87F6CAD40522C6D5E2B2C106CF4DCD6073BDAAAB69FE2588A9F075D169F7543936',1,59887699,1796631023884,1796631023885,'8df87af96a7e2d78bc955ef50293c55db5b4615a91063255e01db59b6b86ec24:0,9e6c3ba3549146b2c15f5022d80eef4ba1ca9a1a7a33bfcf6067671d7268c142:0,ab8339dfe76ded03b8bb998ec483e3d73f692c6810de123f33d38a89debc6671:0,d8235835c12e685f91079a9f8f1b76117b00597eb4e02ed7afac8bc0c983489a:0,6bb50fefbbbcf0a53a2bf305710bc0e5974bf1cebad300c0b7330829387922bc:0,44026e36948cd3ee93e0c4f9b2f5f4b81b8b52f2d129b5bd9f09cd559aaed7f4:0,28bd9fae369bc28e3ac1619c32696e686508f4c6b48dbb7854fe7e383cf78f71:0,f7a104aa93f53efb287630eaf0b2ce61b78bb5757ed7cbe048a7a2123e86fd14:0,9f9895c5621635577a6f5128371276193fe28c5b9cb2494abaae7486c37ea681:0,3dd6930bcfadce66364f85fdf8553fefbaf34cf742688bd6e8eae1c439191c61:0','');
CREATE INDEX accounts_locked ON accounts(account) WHERE locked = 1;
CREATE INDEX incidents_last_seen ON incidents(last_seen_ms);
CREATE INDEX incident_accounts_account ON incident_accounts(account);
CREATE INDEX blocks_until ON blocks(until_ms);
CREATE INDEX outbox_state_next ON outbox(state, next_attempt_ms);
CREATE INDEX outbox_done ON outbox(done_ms) WHERE state != 'pending';
COMMIT;
PRAGMA user_version=6;
