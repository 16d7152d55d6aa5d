#include "protocols/http/owner_pages.h"

#include <array>

#include "core/log.h"
#include "engine/device.h"
#include "notify/payload.h"
#include "notify/templates.h"
#include "notify/time_zone.h"
#include "protocols/http/url_decode.h"

namespace mamori::http {

namespace {

constexpr std::size_t kMaxEvents = 500;  // entries on one activity page

constexpr std::string_view kStyle = R"css(
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif;
line-height:1.6;color:#1f2328;background:#f6f7f9}
main{max-width:40rem;margin:0 auto;padding:1rem}
header{border-bottom:1px solid #d0d7de;margin-bottom:1rem}
.service{margin:0;color:#57606a;font-size:.9rem}
h1{font-size:1.35rem;margin:.2rem 0 .8rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.notice{background:#fff8c5;border:1px solid #d4a72c;border-radius:.5rem;padding:.75rem}
.done{background:#dafbe1;border:1px solid #4ac26b;border-radius:.5rem;padding:.75rem}
.error{background:#ffebe9;border:1px solid #ff8182;border-radius:.5rem;padding:.75rem}
ol.events{list-style:none;margin:0;padding:0}
li.event{background:#fff;border:1px solid #d0d7de;border-radius:.5rem;padding:.6rem .8rem;margin:.5rem 0}
li.event.failed,li.event.refused{border-left:4px solid #cf222e}
li.event.change{border-left:4px solid #bf8700}
.what{font-weight:600;margin:0}
.when{margin:0;color:#57606a;font-size:.9rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem .8rem;margin:.4rem 0 0;font-size:.9rem}
dt{color:#57606a}dd{margin:0;overflow-wrap:anywhere}
button,.button{display:inline-block;font-size:1rem;padding:.7rem 1.2rem;border-radius:.5rem;
border:1px solid #a40e26;background:#cf222e;color:#fff;text-decoration:none;cursor:pointer}
.link{color:#0969da}
footer{margin-top:2rem;color:#57606a;font-size:.8rem}
)css";

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void secure_headers(Response& resp) {
  resp.headers.emplace_back("Content-Security-Policy",
                            "default-src 'none'; style-src 'self'; img-src data:; "
                            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  resp.headers.emplace_back("X-Frame-Options", "DENY");
  resp.headers.emplace_back("Referrer-Policy", "no-referrer");
  resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
  resp.headers.emplace_back("Cache-Control", "no-store");
}

// The value of `name` in a query string or a form body (a=1&b=2), decoded.
std::optional<std::string> form_value(std::string_view text, std::string_view name) {
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view kv = text.substr(0, amp);
    const auto eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, eq) == name) {
      auto v = decode_query_value(kv.substr(eq + 1));
      if (!v) return std::nullopt;
      return *v;
    }
    if (amp == std::string_view::npos) break;
    text.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string query_of(std::string_view target) {
  const auto q = target.find('?');
  return q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
}

std::string path_of(std::string_view target) {
  return std::string(target.substr(0, target.find('?')));
}

// What an activity entry was, in the owner's words; "" for entries the page
// does not show (attempts, sends, logouts).
struct EntryWords {
  std::string what;
  std::string_view css;  // "ok", "failed", "refused", "change"
};

EntryWords entry_words(const store::ActivityRecord& r, bool ja) {
  const bool refused = r.action >= Action::kDeny;
  switch (r.type) {
    case EventType::kLoginResult:
      if (r.success && *r.success) {
        if (refused) return {ja ? "ログイン（ブロックしました）" : "Login (blocked)", "refused"};
        if (r.action == Action::kChallenge)
          return {ja ? "ログイン（追加の確認を求めました）" : "Login (asked for a second step)",
                  "ok"};
        return {ja ? "ログイン" : "Login", "ok"};
      }
      return {ja ? "ログイン失敗（パスワードの誤り）" : "Failed login (wrong password)", "failed"};
    case EventType::kPasswordChanged:
      return {ja ? "パスワードの変更" : "Password changed", "change"};
    case EventType::kEmailChanged:
      return {ja ? "メールアドレスの変更" : "E-mail address changed", "change"};
    case EventType::kMfaEnabled:
      return {ja ? "2段階認証の設定" : "Two-step login turned on", "change"};
    case EventType::kMfaDisabled:
      return {ja ? "2段階認証の解除" : "Two-step login turned off", "change"};
    case EventType::kChallengePassed:
      return {ja ? "確認コードによる本人確認" : "Verification code accepted", "ok"};
    case EventType::kChallengeFailed:
      return {ja ? "確認コードの誤り" : "Wrong verification code", "failed"};
    default:
      return {};
  }
}

}  // namespace

// One HTML page in the owner's language.
struct OwnerPages::Page {
  bool ja = false;
  std::string title;
  std::string body;  // HTML inside <main>, after the header

  void finish(Response& resp, int status, std::string_view service) const {
    resp.status = status;
    resp.content_type = "text/html; charset=utf-8";
    secure_headers(resp);
    std::string& h = resp.body;
    h = "<!DOCTYPE html>\n<html lang=\"";
    h += ja ? "ja" : "en";
    h += "\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta name=\"robots\" content=\"noindex\"><title>";
    h += escape(title) + " - " + escape(service);
    h += "</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"style.css\">"
         "</head>\n<body><main><header><p class=\"service\">";
    h += escape(service) + "</p><h1>" + escape(title) + "</h1></header>\n";
    h += body;
    h += "<footer>";
    h += ja ? "このページはご本人専用です。リンクを他の方と共有しないでください。"
            : "This page is for you alone: do not share its link.";
    h += "</footer></main></body></html>\n";
  }
};

OwnerPages::OwnerPages(const notify::OwnerLinks& links, const notify::NotifyConfig& notify,
                       engine::Engine& engine, store::Store& store, notify::Outbox& outbox,
                       notify::OnceRecords& once, const Locator* locator, const Clock& clock)
    : links_(links),
      service_name_(notify.service_name),
      help_url_(notify.help_url),
      engine_(engine),
      store_(store),
      outbox_(outbox),
      once_(once),
      locator_(locator),
      clock_(clock) {}

bool OwnerPages::serves(std::string_view target) { return target.starts_with("/owner/"); }

void OwnerPages::handle(const Request& req, Response& resp) {
  const std::string path = path_of(req.target);
  const bool get = req.method == "GET" || req.method == "HEAD";
  auto wrong_method = [&](std::string_view allow) {
    Page p;
    p.title = "Method not allowed";
    p.body = "<p class=\"error\">" + std::string(allow) + "</p>";
    p.finish(resp, 405, service_name_);
    resp.headers.emplace_back("Allow", std::string(allow));
  };
  if (path == "/owner/style.css") {
    if (!get) return wrong_method("GET, HEAD");
    resp.status = 200;
    resp.content_type = "text/css; charset=utf-8";
    resp.body = kStyle;
    resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
    resp.headers.emplace_back("Cache-Control", "max-age=3600");
    return;
  }
  if (path == "/owner/activity") {
    if (!get) return wrong_method("GET, HEAD");
    return activity(req, resp);
  }
  if (path == "/owner/not-me") {
    if (get) return not_me_confirm(req, resp);
    if (req.method == "POST") return not_me_act(req, resp);
    return wrong_method("GET, HEAD, POST");
  }
  Page p;
  p.title = "Not found";
  p.body = "<p class=\"error\">No such page. / ページが見つかりません。</p>";
  p.finish(resp, 404, service_name_);
}

namespace {

// The owner's language and time zone from the account's contact.
struct Reader {
  bool ja = false;
  std::string zone = "UTC";
  bool locked = false;
};

Reader reader_of(store::RecordStore& records, const std::string& account) {
  Reader r;
  store::Contact contact;
  auto rec = records.account(account);
  if (!rec) {
    log_error_limited("owner page", "owner page of " + account + ": " + rec.error().message);
  } else if (*rec) {
    contact = (*rec)->contact;
    r.locked = (*rec)->lock.has_value();
  }
  r.ja = contact.lang == "ja";
  r.zone =
      contact.time_zone.empty() ? notify::default_time_zone(r.ja ? "ja" : "en") : contact.time_zone;
  return r;
}

// The page for a link that does not verify or was used: in both languages,
// since whose it is may not be known.
void link_refused(Response& resp, const Error& e, std::string_view service) {
  struct Words {
    std::string_view code;
    int status;
    std::string_view ja, en;
  };
  static constexpr std::array<Words, 3> kWords = {{
      {"link_expired", 410,
       "このリンクは有効期限が切れています。お手数ですが、新しいお知らせメールのリンクをご利用くだ"
       "さい。",
       "This link has expired. Please use the link in a newer message."},
      {"link_used", 409, "このリンクはすでに使用されています。アカウントはロック済みです。",
       "This link has been used already: the account is locked."},
      {"link_invalid", 400,
       "このリンクは無効です。メールに記載されたリンクを、途中で切れていないかご確認のうえ開いてく"
       "ださい。",
       "This link is not valid. Please open the link from the message in full."},
  }};
  const Words* w = &kWords[2];
  for (const Words& k : kWords)
    if (k.code == e.code) w = &k;
  std::string body = "<div class=\"error\" id=\"link-error\" data-code=\"" + std::string(w->code) +
                     "\"><p lang=\"ja\">" + std::string(w->ja) + "</p><p lang=\"en\">" +
                     std::string(w->en) + "</p></div>";
  resp.status = w->status;
  resp.content_type = "text/html; charset=utf-8";
  secure_headers(resp);
  resp.body =
      "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      escape(service) +
      "</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" "
      "href=\"style.css\"></head>\n<body><main><header><p class=\"service\">" +
      escape(service) + "</p><h1>リンクを開けません / Cannot open this link</h1></header>\n" +
      body + "</main></body></html>\n";
}

}  // namespace

void OwnerPages::activity(const Request& req, Response& resp) {
  const TimePoint now = clock_.now();
  auto token = form_value(query_of(req.target), "t");
  auto link = links_.verify(token ? *token : std::string(), now);
  if (link && link->purpose != notify::LinkPurpose::kActivity)
    link = make_error("link_invalid", "not an activity link");
  if (!link) return link_refused(resp, link.error(), service_name_);
  const Reader who = reader_of(store_, link->account);
  const bool ja = who.ja;
  const std::string lang = ja ? "ja" : "en";
  const Duration window = links_.config().activity_window;
  const auto days = std::chrono::duration_cast<std::chrono::hours>(window).count() / 24;
  auto events = store_.activity(link->account, now - window, kMaxEvents);
  Page p;
  p.ja = ja;
  p.title = ja ? "ログイン履歴" : "Your account activity";
  std::string& b = p.body;
  b += "<p>" +
       (ja ? escape(link->account) + " 様の、最近" + std::to_string(days) +
                 "日間のログインと設定の変更です。"
           : "Logins to and changes of " + escape(link->account) + " in the last " +
                 std::to_string(days) + " days.") +
       "</p>\n";
  if (who.locked)
    b += std::string("<p class=\"notice\" id=\"locked\">") +
         (ja ? "このアカウントは現在ロックされています。" : "This account is locked now.") +
         "</p>\n";
  if (!events) {
    log_error_limited("owner page", "activity of " + link->account + ": " + events.error().message);
    b += std::string("<p class=\"error\">") +
         (ja ? "ただいま履歴を表示できません。時間をおいて再度お試しください。"
             : "Your activity cannot be shown right now. Please try again later.") +
         "</p>\n";
    return p.finish(resp, 503, service_name_);
  }
  b += "<ol class=\"events\">\n";
  std::size_t shown = 0;
  for (const store::ActivityRecord& r : *events) {
    const EntryWords words = entry_words(r, ja);
    if (words.what.empty()) continue;
    ++shown;
    PlaceNames names;
    if (locator_ != nullptr && r.ip != IpAddress{}) names = locator_->place_names(r.ip, lang);
    notify::NoticeFacts place;
    place.country = r.country;
    place.city = r.city;
    place.place_city = names.city;
    place.place_country = names.country;
    std::string where = notify::place_in_words(place, lang);
    std::string device = engine::describe_device_for_owner(r.user_agent, r.protocol, lang);
    if (device.empty()) device = ja ? "不明" : "unknown";
    b += "<li class=\"event " + std::string(words.css) + "\"><p class=\"what\">" +
         escape(words.what) + "</p><p class=\"when\">" +
         escape(notify::format_notice_time(r.time, who.zone, lang)) + "</p><dl>";
    b += std::string("<dt>") + (ja ? "場所（推定）" : "Where (approximate)") +
         "</dt><dd class=\"where\">" + escape(where) + "</dd>";
    b += std::string("<dt>") + (ja ? "端末" : "Device") + "</dt><dd class=\"device\">" +
         escape(device) + "</dd>";
    b += std::string("<dt>") + (ja ? "IPアドレス" : "IP address") + "</dt><dd class=\"ip\">" +
         escape(r.ip == IpAddress{} ? std::string("-") : r.ip.to_string()) + "</dd>";
    b += "</dl></li>\n";
  }
  b += "</ol>\n";
  if (shown == 0)
    b += std::string("<p id=\"empty\">") +
         (ja ? "この期間の記録はありません。" : "Nothing was recorded in this time.") + "</p>\n";
  b += std::string("<h2>") +
       (ja ? "身に覚えのないログインがある場合" : "A login that was not you?") + "</h2>\n<p>" +
       (ja ? "次のページからアカウントをロックできます。ロックの解除には、パスワードの再設定が必要"
             "です。"
           : "You can lock your account here. To unlock it, you will reset your password.") +
       "</p>\n<p><a class=\"button\" id=\"not-me\" href=\"not-me?t=" +
       escape(links_.token(notify::LinkPurpose::kNotMe, link->account, now)) + "\">" +
       (ja ? "身に覚えのないログインを報告する" : "Report a login that was not me") + "</a></p>\n";
  p.finish(resp, 200, service_name_);
}

void OwnerPages::not_me_confirm(const Request& req, Response& resp) {
  const TimePoint now = clock_.now();
  auto token = form_value(query_of(req.target), "t");
  auto link = links_.verify(token ? *token : std::string(), now);
  if (link && link->purpose != notify::LinkPurpose::kNotMe)
    link = make_error("link_invalid", "not a not-me link");
  if (!link) return link_refused(resp, link.error(), service_name_);
  auto used = store_.owner_action("not-me:" + link->nonce);
  if (used && *used) return link_refused(resp, Error{"link_used", ""}, service_name_);
  const Reader who = reader_of(store_, link->account);
  const bool ja = who.ja;
  Page p;
  p.ja = ja;
  p.title = ja ? "身に覚えのないログインの報告" : "Report a login that was not you";
  std::string& b = p.body;
  if (ja) {
    b += "<p>" + escape(link->account) +
         " 様のアカウントに、お客様ご本人ではない方がログインした可能性があります。</p>\n";
    b += "<p>下のボタンを押すと、次のとおり対応します。</p>\n<ul>"
         "<li>アカウントをロックし、どなたもログインできないようにします。</li>"
         "<li>ログイン中の端末からも、ログアウトされます。</li>"
         "<li>ロックの解除には、パスワードの再設定が必要です。</li></ul>\n";
  } else {
    b += "<p>Someone other than you may have logged in to " + escape(link->account) + ".</p>\n";
    b += "<p>When you press the button:</p>\n<ul>"
         "<li>your account is locked, so that nobody can log in;</li>"
         "<li>devices that are logged in are logged out;</li>"
         "<li>to unlock it, you reset your password.</li></ul>\n";
  }
  b += "<form method=\"post\" action=\"not-me\"><input type=\"hidden\" name=\"t\" value=\"" +
       escape(*token) + "\"><button type=\"submit\" id=\"confirm\">" +
       (ja ? "アカウントをロックする" : "Lock my account") + "</button></form>\n";
  b += std::string("<p>") +
       (ja ? "ご自身のログインだった場合は、このページを閉じてください。"
           : "If the login was you, just close this page.") +
       "</p>\n";
  p.finish(resp, 200, service_name_);
}

void OwnerPages::not_me_act(const Request& req, Response& resp) {
  const TimePoint now = clock_.now();
  auto token = form_value(req.body, "t");
  auto link = links_.verify(token ? *token : std::string(), now);
  if (link && link->purpose != notify::LinkPurpose::kNotMe)
    link = make_error("link_invalid", "not a not-me link");
  if (!link) return link_refused(resp, link.error(), service_name_);
  const std::string reason = "the owner reported a login that was not theirs (this wasn't me)";
  store::WriteSpan writes;
  bool notified = false;
  // The link's record commits with the lock: if the lock cannot be stored,
  // the link is not spent and works again.
  auto claim = once_.claim_with(
      "not-me:" + link->nonce, link->account, now,
      [&] {
        store::WriteSpan w = engine_.lock(link->account, reason, true, "owner", now, &notified);
        // The app ends the account's sessions on this event.
        w.add(outbox_.webhook_event(notify::encode_account_locked(
            engine_.ids().next(now), link->account, now, "owner", reason, true)));
        return w;
      },
      writes);
  if (!claim) {
    log_error_limited("owner page", "not-me of " + link->account + ": " + claim.error().message);
    set_error(resp, 503, "store_unavailable", "try again");
    resp.headers.emplace_back("Retry-After", "1");
    return;
  }
  if (!claim->first) return link_refused(resp, Error{"link_used", ""}, service_name_);
  log_warn("locked account " + link->account + ": its owner reported a login that was not theirs");
  const Reader who = reader_of(store_, link->account);
  const bool ja = who.ja;
  Page p;
  p.ja = ja;
  p.title = ja ? "アカウントをロックしました" : "Your account is locked";
  std::string& b = p.body;
  b += std::string("<p class=\"done\" id=\"locked\">") +
       (ja ? "ご連絡ありがとうございます。アカウントをロックしました。"
           : "Thank you for telling us. Your account is locked.") +
       "</p>\n";
  b += std::string("<h2>") + (ja ? "これからの流れ" : "What happens next") + "</h2>\n<ol>";
  if (ja) {
    b += "<li>パスワードを再設定するまで、このアカウントにはどなたもログインできません。"
         "ログイン中の端末からもログアウトされます。</li>";
    if (notified) b += "<li>ご登録のメールアドレスに、確認のメールをお送りしました。</li>";
    b += help_url_.empty()
             ? "<li>パスワードの再設定は、" + escape(service_name_) +
                   "のサポート窓口までお問い合わせください。</li>"
             : "<li><a class=\"link\" href=\"" + escape(help_url_) +
                   "\">こちらの手順</a>に沿って、新しいパスワードを設定してください。</li>";
    b += "<li>同じパスワードを他のサービスでもお使いの場合は、そちらも変更してください。</li>"
         "<li>再設定の後、2段階認証（認証アプリによる確認コード）の設定をおすすめします。</li>";
  } else {
    b += "<li>Nobody can log in to the account until you reset its password; devices that "
         "are logged in are logged out.</li>";
    if (notified) b += "<li>We have sent you a message to confirm this.</li>";
    b += help_url_.empty()
             ? "<li>To reset your password, contact " + escape(service_name_) + " support.</li>"
             : "<li>Reset your password by <a class=\"link\" href=\"" + escape(help_url_) +
                   "\">these steps</a>.</li>";
    b += "<li>If you use the same password anywhere else, change it there too.</li>"
         "<li>Then turn on two-step login with an authenticator app.</li>";
  }
  b += "</ol>\n";
  p.finish(resp, 200, service_name_);
  resp.wait_from = writes.first;
  resp.wait_for = writes.last;
}

}  // namespace mamori::http
