#!/usr/bin/env python3
"""A fake Scalingo on loopback, following ../shared/reference/scalingo-api.md: the same paths,
auth checks, JSON shapes and error bodies, with faults chosen per test.

    fake_scalingo.py STATE.json REQUESTS.log   -> prints the port, then serves until killed

STATE: {"api_token": "...", "apps": {"<app>": [<addon>...]}, "backups": {"<addon_id>": [<backup>...]},
        "archives": {"<backup_id>": "<path to .tar.gz>"}, "range": true, "redirect": true,
        "faults": {"<endpoint>": [<fault>...]}}
STATE is read again when the file changes. endpoints: exchange, addons, addon_token, backups, archive, download. POST /hooks/<name> records
webhook bodies (/hooks/broken answers 500). A fault is consumed by one
request: an HTTP status (429 adds Retry-After: 1), "html" (500 with an HTML body), "stall" (no answer,
ever), or for download "cut" (half the body, then the connection is closed) and "stall" (half the
body, then nothing, ever).
"""
import base64, json, os, re, secrets, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

state = json.load(open(sys.argv[1]))
state_mtime = os.path.getmtime(sys.argv[1])
log_path = sys.argv[2]
lock = threading.Lock()


def reload_state():
    """A test may rewrite STATE (a backup appearing): read again when it changed."""
    global state_mtime
    with lock:
        m = os.path.getmtime(sys.argv[1])
        if m != state_mtime:
            state_mtime = m
            state.clear()
            state.update(json.load(open(sys.argv[1])))
user_tokens, addon_tokens, signatures = set(), {}, {}


def jwt(kind):
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    return enc({"alg": "HS256", "typ": "JWT"}) + "." + enc({"exp": int(time.time()) + 3600, "kind": kind}) + "." + secrets.token_urlsafe(24)


def take_fault(endpoint):
    with lock:
        faults = state.setdefault("faults", {}).get(endpoint, [])
        return faults.pop(0) if faults else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, endpoint):
        auth = self.headers.get("Authorization", "")
        kind = "none"
        if auth.startswith("Basic "):
            kind = "basic"
        elif auth.startswith("Bearer "):
            tok = auth[7:]
            kind = "bearer-user" if tok in user_tokens else "bearer-addon" if tok in addon_tokens else "bearer-unknown"
        with lock, open(log_path, "a") as f:
            f.write(json.dumps({"method": self.command, "endpoint": endpoint, "path": self.path.split("?")[0],
                                "auth": kind, "range": self.headers.get("Range")}) + "\n")

    def send(self, status, body=b"", ctype="application/json", extra=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def fault(self, endpoint):
        f = take_fault(endpoint)
        if f is None or f == "cut" or (f == "stall" and endpoint == "download"):
            return f
        if f == "stall":
            time.sleep(3600)
            return "sent"
        if f == "html":
            self.send(500, "<html><body>Internal Server Error</body></html>", "text/html")
        elif f == 429:
            self.send(429, "Retry later", "text/plain", {"Retry-After": "1"})
        elif f in (502, 503, 504):
            self.send(f, b"", "text/plain")
        elif f == 401:
            self.send(401, {"error": "You are not authorized to do this operation"})
        else:
            self.send(f, {"error": "injected failure %s" % f})
        return "sent"

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_POST(self):
        reload_state()
        body = self.body()
        m = re.fullmatch(r"/hooks/([^/]+)", self.path)
        if m:  # a webhook receiver, for the webhook step's tests
            with lock, open(log_path, "a") as f:
                f.write(json.dumps({"method": "POST", "endpoint": "hook", "path": self.path,
                                    "authorization": self.headers.get("Authorization"),
                                    "body": json.loads(body or b"null")}) + "\n")
            status = 500 if m.group(1) == "broken" else 200
            return self.send(status, {"ok": status == 200})
        if self.path == "/v1/tokens/exchange":
            self.record("exchange")
            if self.fault("exchange"):
                return
            auth = self.headers.get("Authorization", "")
            ok = False
            if auth.startswith("Basic "):
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                ok = user == "" and pw == state["api_token"]
            if not ok:
                return self.send(401, {"error": "invalid credentials"})
            tok = jwt("user")
            user_tokens.add(tok)
            return self.send(200, {"token": tok})
        m = re.fullmatch(r"/v1/apps/([^/]+)/addons/([^/]+)/token", self.path)
        if m:
            self.record("addon_token")
            if self.fault("addon_token"):
                return
            if self.bearer() not in user_tokens:
                return self.send(401, {"error": "You are not authorized to do this operation"})
            app, addon_id = m.groups()
            if app not in state["apps"]:
                return self.send(404, {"resource": "app", "error": "not found"})
            addon = next((a for a in state["apps"][app] if a["id"] == addon_id), None)
            if addon is None:
                return self.send(404, {"resource": "addon", "error": "not found"})
            tok = jwt("addon")
            addon_tokens[tok] = addon_id
            return self.send(200, {"addon": dict(addon, token=tok)})
        self.send(404, {"error": "not found"})

    def do_GET(self):
        reload_state()
        path = self.path.split("?")[0]
        m = re.fullmatch(r"/v1/apps/([^/]+)/addons", path)
        if m:
            self.record("addons")
            if self.fault("addons"):
                return
            if self.bearer() not in user_tokens:
                return self.send(401, {"error": "You are not authorized to do this operation"})
            app = m.group(1)
            if app not in state["apps"]:
                return self.send(404, {"resource": "app", "error": "not found"})
            return self.send(200, {"addons": state["apps"][app]})
        m = re.fullmatch(r"/api/databases/([^/]+)/backups", path)
        if m:
            self.record("backups")
            if self.fault("backups"):
                return
            if addon_tokens.get(self.bearer()) != m.group(1):
                return self.send(401, {"error": "invalid token"})
            return self.send(200, {"database_backups": state.get("backups", {}).get(m.group(1), [])})
        m = re.fullmatch(r"/api/databases/([^/]+)/backups/([^/]+)/archive", path)
        if m:
            self.record("archive")
            if self.fault("archive"):
                return
            if addon_tokens.get(self.bearer()) != m.group(1):
                return self.send(401, {"error": "invalid token"})
            bid = m.group(2)
            if bid not in state.get("archives", {}):
                return self.send(404, {"resource": "backup", "error": "not found"})
            sig = secrets.token_hex(16)
            signatures[sig] = bid
            prefix = "presigned" if state.get("redirect") else "storage"
            return self.send(200, {"download_url": "http://127.0.0.1:%d/%s/%s.tar.gz?X-Amz-Signature=%s" % (self.server.server_port, prefix, bid, sig)})
        m = re.fullmatch(r"/presigned/([^/]+)\.tar\.gz", path)
        if m:
            self.record("presigned")
            return self.send(302, b"", "text/plain", {"Location": self.path.replace("/presigned/", "/storage/")})
        m = re.fullmatch(r"/storage/([^/]+)\.tar\.gz", path)
        if m:
            self.record("download")
            sig = re.search(r"X-Amz-Signature=([0-9a-f]+)", self.path)
            if self.headers.get("Authorization") or not sig or signatures.get(sig.group(1)) != m.group(1):
                return self.send(403, "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code></Error>", "application/xml")
            f = self.fault("download")
            if f == "sent":
                return
            # Sent from the file as it is read, the first bytes at once, as object storage does:
            # reading a whole archive first held every download back by a fraction of a second.
            path = state["archives"][m.group(1)]
            size = os.path.getsize(path)
            start, status, extra = 0, 200, {"Accept-Ranges": "bytes"} if state.get("range", True) else {}
            rng = self.headers.get("Range")
            if rng and state.get("range", True):
                start = int(re.match(r"bytes=(\d+)-", rng).group(1))
                status = 206
                extra["Content-Range"] = "bytes %d-%d/%d" % (start, size - 1, size)
            throttle = state.get("throttle_bps")
            self.send_response(status)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(size - start))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            with open(path, "rb") as src:
                src.seek(start)
                if f in ("cut", "stall"):
                    self.wfile.write(src.read((size - start) // 2))
                    self.wfile.flush()
                    if f == "stall":
                        time.sleep(3600)
                    self.close_connection = True
                    return
                chunk, t0, sent = max(1, throttle // 20) if throttle else 1 << 20, time.monotonic(), 0
                while True:
                    b = src.read(chunk)
                    if not b:
                        break
                    self.wfile.write(b)
                    sent += len(b)
                    # Paced by the clock, the writes' own time included: the rate asked for.
                    delay = t0 + sent / throttle - time.monotonic() if throttle else 0
                    if delay > 0:
                        time.sleep(delay)
            return
        self.send(404, {"error": "not found"})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_port, flush=True)
server.serve_forever()
