-- mamori.db at schema version 4 (tests/data/schema/generate.py)
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
INSERT INTO "accounts" VALUES('alice',1,'fixture lock',1796598896894,1,'operator','','en',1,0,0,'','','');
INSERT INTO "accounts" VALUES('bob',0,'',0,0,'','bob@example.com','ja',1,0,0,'','','Asia/Tokyo');
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
CREATE TABLE profiles (
  account TEXT NOT NULL PRIMARY KEY,
  data TEXT NOT NULL
);
INSERT INTO "profiles" VALUES('bob','{"d":[{"k":"id:bob-phone","i":"bob-phone","u":"OtherBrowser/2.0","f":1796598897062,"l":1796598897062},{"k":"id:bob-laptop","i":"bob-laptop","u":"FixtureBrowser/1.0","f":1796598897058,"l":1796598897058}],"c":[],"a":[],"ls":{"t":1796598897062,"ip":"192.0.2.11","c":"","ci":""}}');
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
CREATE INDEX activity_account_time ON activity(account, time_ms);
CREATE INDEX activity_time ON activity(time_ms);
CREATE INDEX incidents_last_seen ON incidents(last_seen_ms);
CREATE INDEX incident_accounts_account ON incident_accounts(account);
CREATE INDEX blocks_until ON blocks(until_ms);
CREATE INDEX outbox_state_next ON outbox(state, next_attempt_ms);
CREATE INDEX outbox_done ON outbox(done_ms) WHERE state != 'pending';
COMMIT;
PRAGMA user_version=4;
