-- mamori.db at schema version 2 (tests/data/schema/generate.py)
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
) WITHOUT ROWID;
INSERT INTO "accounts" VALUES('alice',1,'fixture lock',1796598896894,1,'operator','','en',1,0,0,'','');
INSERT INTO "accounts" VALUES('bob',0,'',0,0,'','bob@example.com','ja',1,0,0,'','');
CREATE TABLE activity (
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  account TEXT NOT NULL,
  type TEXT NOT NULL,
  ip TEXT NOT NULL,
  country TEXT NOT NULL,
  city TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  device_id TEXT NOT NULL,
  protocol TEXT NOT NULL,
  success INTEGER,
  action TEXT NOT NULL,
  reasons TEXT NOT NULL
);
INSERT INTO "activity" VALUES(1,'01a24da399a267730c12',1796598897058,'bob','login_result','192.0.2.10','','','FixtureBrowser/1.0','bob-laptop','web',1,'allow','');
INSERT INTO "activity" VALUES(2,'01a24da399a667730c13',1796598897062,'bob','login_result','192.0.2.11','','','OtherBrowser/2.0','bob-phone','web',1,'allow','new_device');
INSERT INTO "activity" VALUES(3,'01a24da399ca67730c14',1796598897098,'carol','mfa_enabled','::','','','','','web',NULL,'allow','');
INSERT INTO "activity" VALUES(4,'01a24da39a0a67730c16',1796598897162,'stuffed1','login_result','203.0.113.50','','','','','web',0,'allow','');
INSERT INTO "activity" VALUES(5,'01a24da39a4667730c18',1796598897222,'stuffed2','login_result','203.0.113.50','','','','','web',0,'allow','');
INSERT INTO "activity" VALUES(6,'01a24da39a8667730c1a',1796598897286,'stuffed3','login_result','203.0.113.50','','','','','web',0,'allow','');
INSERT INTO "activity" VALUES(7,'01a24da39a9a67730c1c',1796598897306,'stuffed4','login_result','203.0.113.50','','','','','web',0,'allow','');
INSERT INTO "activity" VALUES(8,'01a24da39ad667730c1e',1796598897366,'stuffed5','login_result','203.0.113.50','','','','','web',0,'deny','credential_stuffing');
INSERT INTO "activity" VALUES(9,'01a24da39af267730c20',1796598897394,'stuffed6','login_attempt','203.0.113.50','','','','','web',NULL,'deny','credential_stuffing');
INSERT INTO "activity" VALUES(10,'01a24da39b1e67730c21',1796598897438,'stuffed6','login_result','203.0.113.50','','','','','web',0,'deny','credential_stuffing');
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
INSERT INTO "blocks" VALUES('ip','203.0.113.50','credential_stuffing','deny',1796598897366,1796602497366,'01a24da39ad667730c1f');
CREATE TABLE incident_accounts (
  incident_id TEXT NOT NULL,
  account TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  login_succeeded INTEGER NOT NULL,
  PRIMARY KEY (incident_id, account)
) WITHOUT ROWID;
INSERT INTO "incident_accounts" VALUES('01a24da39ad667730c1f','stuffed1',1796598897366,1796598897366,0);
INSERT INTO "incident_accounts" VALUES('01a24da39ad667730c1f','stuffed2',1796598897366,1796598897366,0);
INSERT INTO "incident_accounts" VALUES('01a24da39ad667730c1f','stuffed3',1796598897366,1796598897366,0);
INSERT INTO "incident_accounts" VALUES('01a24da39ad667730c1f','stuffed4',1796598897366,1796598897366,0);
INSERT INTO "incident_accounts" VALUES('01a24da39ad667730c1f','stuffed5',1796598897366,1796598897366,0);
INSERT INTO "incident_accounts" VALUES('01a24da39ad667730c1f','stuffed6',1796598897394,1796598897394,0);
CREATE TABLE incidents (
  id TEXT NOT NULL PRIMARY KEY,
  kind TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  sources TEXT NOT NULL,
  accounts_targeted INTEGER NOT NULL,
  accounts_compromised INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO "incidents" VALUES('01a24da39ad667730c1f','credential_stuffing',1796598897366,1796598897394,'203.0.113.50',6,0);
CREATE TABLE list_entries (
  id TEXT NOT NULL PRIMARY KEY,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER
) WITHOUT ROWID;
INSERT INTO "list_entries" VALUES('01a24da3997667730c0e','deny','203.0.113.9','fixture deny',1796598897014,NULL);
INSERT INTO "list_entries" VALUES('01a24da3997a67730c0f','allow','198.51.100.0/24','office',1796598897018,NULL);
INSERT INTO "list_entries" VALUES('01a24da3998367730c10','deny','account:mallory','fixture ttl',1796598897027,2111958897027);
CREATE TABLE profiles (
  account TEXT NOT NULL PRIMARY KEY,
  data TEXT NOT NULL
);
INSERT INTO "profiles" VALUES('bob','{"d":[{"k":"id:bob-phone","i":"bob-phone","u":"OtherBrowser/2.0","f":1796598897062,"l":1796598897062},{"k":"id:bob-laptop","i":"bob-laptop","u":"FixtureBrowser/1.0","f":1796598897058,"l":1796598897058}],"c":[],"a":[],"ls":{"t":1796598897062,"ip":"192.0.2.11","c":"","ci":""}}');
CREATE INDEX accounts_locked ON accounts(account) WHERE locked = 1;
CREATE INDEX activity_account_time ON activity(account, time_ms);
CREATE INDEX activity_time ON activity(time_ms);
CREATE INDEX incidents_last_seen ON incidents(last_seen_ms);
CREATE INDEX incident_accounts_account ON incident_accounts(account);
CREATE INDEX blocks_until ON blocks(until_ms);
COMMIT;
PRAGMA user_version=2;
