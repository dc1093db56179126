#include "source_url.hpp"

#include <libpq-fe.h>

#include <map>
#include <memory>

#include <pixrep/step.hpp>

#include "db.hpp"

namespace pixrep::live {

using common::conninfo_value;

SourceUrl parse_source_url(const std::string& url) {
    if (url.empty()) throw StepError(ErrorKind::config, "SOURCE_DATABASE_URL is empty: set it to postgres://user:password@host:port/dbname");
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> opts(PQconninfoParse(url.c_str(), &err), PQconninfoFree);
    if (err) PQfreemem(err);  // libpq's message may quote the URL, password included
    if (!opts) throw StepError(ErrorKind::config, "SOURCE_DATABASE_URL is not a PostgreSQL URL (postgres://user:password@host:port/dbname)");
    std::map<std::string, std::string> v;
    for (auto* o = opts.get(); o->keyword; ++o)
        if (o->val && *o->val) v[o->keyword] = o->val;
    SourceUrl out;
    out.password = v.count("password") ? v["password"] : "";
    out.sslpassword = v.count("sslpassword") ? v["sslpassword"] : "";
    v.erase("password");
    v.erase("sslpassword");
    // Production is never read in clear text, unless the URL says so.
    if (!v.count("sslmode"))
        if (auto mode = common::default_sslmode(v.count("host") ? v["host"] : "", v.count("hostaddr") ? v["hostaddr"] : ""); !mode.empty())
            v["sslmode"] = mode;
    // The proxy in front of Scalingo's databases cuts a silent connection after 30 minutes.
    if (!v.count("connect_timeout")) v["connect_timeout"] = "30";
    if (!v.count("keepalives_idle")) v["keepalives"] = "1", v["keepalives_idle"] = "60", v["keepalives_interval"] = "10", v["keepalives_count"] = "6";
    for (const auto& [k, val] : v) out.conninfo_public += (out.conninfo_public.empty() ? "" : " ") + k + "=" + conninfo_value(val);
    out.conninfo = out.conninfo_public + (out.password.empty() ? "" : " password=" + conninfo_value(out.password)) +
                   (out.sslpassword.empty() ? "" : " sslpassword=" + conninfo_value(out.sslpassword));
    out.host = v.count("host") ? v["host"] : (v.count("hostaddr") ? v["hostaddr"] : "localhost");
    out.port = v.count("port") ? v["port"] : "5432";
    out.dbname = v.count("dbname") ? v["dbname"] : (v.count("user") ? v["user"] : "");
    out.where = (v.count("user") ? v["user"] + "@" : "") + out.host + ":" + out.port + "/" + out.dbname;
    out.label = "SOURCE_DATABASE_URL";
    return out;
}

}  // namespace pixrep::live
