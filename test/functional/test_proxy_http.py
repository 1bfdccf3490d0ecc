"""opennebula/files/default/lighttpd-opennebula.conf.jinja run by the real lighttpd (Debian
bookworm's 1.4.69) inside Debian's own main config, on loopback ports, with a loopback
backend standing in for Sunstone:

* ``http: redirect``: plain http answers only 301 to the https URL of the same path and
  query (never the distro's placeholder page); https reaches the backend.
* ``http: disabled``: nothing answers plain http, neither on the http port (the main socket
  is the TLS one now) nor as plain text on the TLS port; https reaches the backend.

The main config is /etc/lighttpd/lighttpd.conf with only what a test cannot use changed:
ports (the distro's :80), the conf-enabled include (our file instead), pid/error log paths,
the www-data switch and the IPv6 wildcard socket (kept, on [::1]: an extra socket the
distro adds).
"""
import http.client
import http.server
import pathlib
import socket
import ssl
import subprocess
import threading
import time

import jinja2
import pytest

from conftest import REPO, require_tools

pytestmark = [pytest.mark.realtool, require_tools("lighttpd", "openssl")]
DEBIAN_MAIN = pathlib.Path("/etc/lighttpd/lighttpd.conf")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def backend():
    """Sunstone's stand-in on loopback: 200 'sunstone <path>' and the proxy headers it got."""

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = f"sunstone {self.path} proto={self.headers.get('X-Forwarded-Proto')}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield srv.server_address[1]
    srv.shutdown()


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("cert")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-keyout", d / "k.pem", "-out", d / "c.pem"],
                   check=True, capture_output=True)
    return d / "c.pem", d / "k.pem"


def start_lighttpd(tmp_path, http_mode, backend, cert):
    if not DEBIAN_MAIN.exists():
        pytest.skip("needs Debian's /etc/lighttpd/lighttpd.conf (package lighttpd)")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(REPO)), undefined=jinja2.StrictUndefined)
    ports = {"tls": free_port(), "http": free_port(), "distro": free_port()}
    ours = env.get_template("opennebula/files/default/lighttpd-opennebula.conf.jinja").render(
        bind="127.0.0.1", port=ports["tls"], http=http_mode, http_port=ports["http"],
        cert=str(cert[0]), key=str(cert[1]), backend_host="127.0.0.1", backend_port=backend)
    (tmp_path / "60-opennebula.conf").write_text(ours)
    main = DEBIAN_MAIN.read_text()
    edits = {
        'include "/etc/lighttpd/conf-enabled/*.conf"': f'include "{tmp_path}/60-opennebula.conf"',
        'include_shell "/usr/share/lighttpd/use-ipv6.pl " + server.port':
            '$SERVER["socket"] == "[::1]:" + server.port { }',
    }
    for old, new in edits.items():
        assert old in main, f"Debian's lighttpd.conf changed: {old!r} not found"
        main = main.replace(old, new)
    lines = []
    for ln in main.splitlines():
        key = ln.split("=")[0].strip()
        if key in ("server.username", "server.groupname", "server.upload-dirs"):
            continue
        if key == "server.port":
            ln = f"server.port = {ports['distro']}"
        elif key == "server.pid-file":
            ln = f'server.pid-file = "{tmp_path}/lighttpd.pid"'
        elif key == "server.errorlog":
            ln = f'server.errorlog = "{tmp_path}/error.log"'
        lines.append(ln)
    conf = tmp_path / "lighttpd.conf"
    conf.write_text("\n".join(lines) + "\n")
    t = subprocess.run(["lighttpd", "-tt", "-f", conf], capture_output=True, text=True)
    assert t.returncode == 0, t.stdout + t.stderr
    p = subprocess.Popen(["lighttpd", "-D", "-f", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", ports["tls"]), timeout=0.5).close()
            break
        except OSError:
            assert p.poll() is None, p.stderr.read().decode()
            time.sleep(0.1)
    return p, ports


def get(port, path, tls=False, host=None):
    ctx = ssl._create_unverified_context() if tls else None
    c = (http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=ctx) if tls
         else http.client.HTTPConnection("127.0.0.1", port, timeout=5))
    try:
        c.request("GET", path, headers={"Host": host} if host else {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode(errors="replace")
    finally:
        c.close()


@pytest.fixture
def proxy(request, tmp_path, backend, cert):
    p, ports = start_lighttpd(tmp_path, request.param, backend, cert)
    yield ports
    p.terminate()
    p.wait(timeout=10)


@pytest.mark.parametrize("proxy", ["redirect"], indirect=True)
def test_redirect_answers_plain_http_with_301_to_the_same_https_url(proxy):
    status, headers, body = get(proxy["http"], "/one/vm?id=4", host="one-cc.lan.local")
    assert status == 301
    assert headers["Location"] == f"https://one-cc.lan.local:{proxy['tls']}/one/vm?id=4"
    assert "sunstone" not in body and "lighttpd" not in body.lower()  # no placeholder page
    # the distro's extra socket (IPv6 wildcard in Debian, [::1] here) redirects as well
    c = http.client.HTTPConnection("::1", proxy["distro"], timeout=5)
    c.request("GET", "/x", headers={"Host": "[::1]"})
    r = c.getresponse()
    assert (r.status, r.getheader("Location")) == (301, f"https://[::1]:{proxy['tls']}/x")
    c.close()
    # HTTPS goes to the backend with the proxy headers
    status, _h, body = get(proxy["tls"], "/one/vm?id=4", tls=True)
    assert (status, body) == (200, "sunstone /one/vm?id=4 proto=https")


@pytest.mark.parametrize("proxy", ["redirect"], indirect=True)
def test_redirect_without_host_header_is_refused_not_served(proxy):
    s = socket.create_connection(("127.0.0.1", proxy["http"]), timeout=5)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    reply = s.recv(4096).decode(errors="replace")
    s.close()
    assert reply.split()[1] == "403", reply


@pytest.mark.parametrize("proxy", ["disabled"], indirect=True)
def test_disabled_serves_no_plain_http_anywhere(proxy):
    with pytest.raises(ConnectionRefusedError):
        get(proxy["http"], "/")
    # the TLS socket does not answer a plain http request with a page
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        get(proxy["tls"], "/")
    status, _h, body = get(proxy["tls"], "/one", tls=True)
    assert (status, body) == (200, "sunstone /one proto=https")
    # the distro's extra socket inherits TLS: no plain http page there either
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        c = http.client.HTTPConnection("::1", proxy["distro"], timeout=5)
        c.request("GET", "/")
        c.getresponse()
