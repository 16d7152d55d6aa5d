#include <gtest/gtest.h>

#include "server/config.h"
#include "testing/config_parsing.h"

namespace mamori {
namespace {

using testing::parse_error;
using testing::parse_ok;

TEST(LogsConfig, ReadsFileAndJournalSources) {
  const server::Config c = parse_ok(R"(
[[logs]]
path = "/var/log/mail.log"
format = "dovecot"

[[logs]]
journal = "ssh.service"
format = "sshd"

[[logs]]
path = "web/access.log"
format = "nginx"
login_path = "/login"
success_status = ["302"]
failure_status = ["2xx", "401"]
max_line_bytes = 4096
)",
                                    "/etc/mamori/mamori.toml");
  ASSERT_EQ(c.logs.size(), 3u);
  EXPECT_EQ(c.logs[0].path, "/var/log/mail.log");
  EXPECT_EQ(c.logs[0].format.name, "dovecot");
  EXPECT_EQ(c.logs[1].journal, "ssh.service");
  EXPECT_EQ(c.logs[1].name(), "journal:ssh.service");
  EXPECT_EQ(c.logs[2].path, "/etc/mamori/web/access.log");
  EXPECT_EQ(c.logs[2].format.success_status, std::vector<std::string>{"302"});
  EXPECT_EQ(c.logs[2].max_line_bytes, 4096u);
}

TEST(LogsConfig, BadSourcesAreRefusedNamingLineAndKey) {
  EXPECT_EQ(parse_error("[[logs]]\npath = \"/x\"\nformat = \"exim\"\n"),
            "test.toml:3: logs[0].format \"exim\": format 'exim' is not known (known: dovecot, "
            "postfix, sshd, nginx, apache, custom)");
  EXPECT_NE(parse_error("[[logs]]\nformat = \"dovecot\"\n").find("logs[0].journal or journal"),
            std::string::npos);
  EXPECT_NE(parse_error("[[logs]]\npath = \"/x\"\njournal = \"y\"\nformat = \"sshd\"\n")
                .find("give one of them"),
            std::string::npos);
  EXPECT_NE(parse_error("[[logs]]\npath = \"/x\"\n").find("logs[0].format is required"),
            std::string::npos);
  EXPECT_NE(parse_error("[[logs]]\npath = \"/x\"\nformat = \"nginx\"\n").find("login_path"),
            std::string::npos);
  EXPECT_NE(parse_error("[[logs]]\npath = \"/x\"\nformat = \"sshd\"\nfailure_status = [\"401\"]\n")
                .find("failure_status is for the nginx"),
            std::string::npos);
  EXPECT_NE(parse_error("[[logs]]\npath = \"/x\"\nformat = \"sshd\"\nport = 1\n")
                .find("logs[0].port is not a known setting"),
            std::string::npos);
  EXPECT_NE(
      parse_error("[[logs]]\npath = \"/x\"\nformat = \"custom\"\npattern = \"(?P<ip>\\\\S+)\"\n")
          .find("(?P<account>"),
      std::string::npos);
  EXPECT_NE(parse_error("[[logs]]\npath = \"/x\"\nformat = \"sshd\"\n[[logs]]\npath = \"/x\"\n"
                        "format = \"dovecot\"\n")
                .find("logs[1].path is given twice"),
            std::string::npos);
  EXPECT_NE(parse_error("logs = 3\n").find("array of tables"), std::string::npos);
}

TEST(LogsConfig, ChangingSourcesNeedsARestart) {
  const server::Config a = parse_ok("[[logs]]\npath = \"/a\"\nformat = \"sshd\"\n");
  const server::Config b = parse_ok("[[logs]]\npath = \"/b\"\nformat = \"sshd\"\n");
  const auto lines = server::changes_needing_restart(a, b);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "logs changed: needs a restart; keeping /a (sshd)");
}

}  // namespace
}  // namespace mamori
