// The HTTP client's policy, pure: what is retried, Retry-After, and the one backoff.
#include <gtest/gtest.h>

#include <curl/curl.h>

#include <pixrep/backoff.hpp>

#include "http.hpp"

using namespace pixrep;
using std::chrono::milliseconds;

TEST(HttpPolicy, RetriesOnlyWhatCanHeal) {
    for (long s : {429L, 502L, 503L, 504L}) EXPECT_TRUE(common::retryable_status(s)) << s;
    for (long s : {200L, 400L, 401L, 403L, 404L, 422L, 500L}) EXPECT_FALSE(common::retryable_status(s)) << s;
    for (int c : {CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING})
        EXPECT_TRUE(common::retryable_curl(c)) << c;
    for (int c : {CURLE_ABORTED_BY_CALLBACK, CURLE_URL_MALFORMAT, CURLE_WRITE_ERROR, CURLE_PEER_FAILED_VERIFICATION})
        EXPECT_FALSE(common::retryable_curl(c)) << c;
}

TEST(HttpPolicy, RetryAfterInSecondsCappedAtFiveMinutes) {
    EXPECT_EQ(common::parse_retry_after(" 1\r\n"), milliseconds(1000));
    EXPECT_EQ(common::parse_retry_after("120"), milliseconds(120'000));
    EXPECT_EQ(common::parse_retry_after("86400"), milliseconds(300'000));
    EXPECT_FALSE(common::parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"));
    EXPECT_FALSE(common::parse_retry_after(""));
}

TEST(Backoff, DoublesUpToTheCapAndLetsAHintWin) {
    Backoff b(milliseconds(200), milliseconds(300));
    EXPECT_EQ(b.next(), milliseconds(200));
    EXPECT_EQ(b.next(), milliseconds(300));
    EXPECT_EQ(b.next(), milliseconds(300));
    EXPECT_EQ(b.next(milliseconds(15 * 60 * 1000)), milliseconds(15 * 60 * 1000)) << "a backup not made yet waits its interval";
    Backoff c(milliseconds(1000), milliseconds(900'000));
    for (int i = 0; i < 10; ++i) c.next();
    EXPECT_EQ(c.next(), milliseconds(900'000));
}

TEST(SecretUrls, HttpsOnlyAndPlainHttpOnlyToThisMachine) {
    EXPECT_EQ(common::secret_url_problem("https://hooks.slack.com/services/T0/B0/xyz"), "");
    EXPECT_EQ(common::secret_url_problem("http://127.0.0.1:8089/hook"), "") << "tests post to a loopback server";
    EXPECT_EQ(common::secret_url_problem("http://localhost/hook"), "");
    EXPECT_EQ(common::secret_url_problem("http://[::1]:80/hook"), "");
    for (const std::string bad : {"http://hooks.example.com/T0/secret-path", "http://127.0.0.1.evil.example/x", "ftp://h/x", "hooks.example.com/x"}) {
        const auto why = common::secret_url_problem(bad);
        EXPECT_NE(why, "") << bad;
        EXPECT_EQ(why.find("secret-path"), std::string::npos) << "the URL itself carries a token";
    }
}
