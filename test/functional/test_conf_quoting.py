"""Config files quote or escape per their own syntax (common/quote.jinja): each template is
rendered directly (validation bypassed, as test_drbd_templates.py does) with hostile but
type-correct values (quotes, backslashes, blanks, `}`, `;`, `#`) and read back by the real
tool: the value must survive byte for byte, or the template must refuse it.

  lighttpd   lighttpd -tt -f (its error for a missing cert names the path it parsed)
  DRBD       drbdadm dump-xml (both syntaxes), parsed by our drbd module
  corosync   corosync -t -c (no quoting exists: unsafe values are refused by the template)
  my.cnf     my_print_defaults --defaults-file
  oned.conf  no oned on this host: the escaped form and the refusals are checked
"""
import os
import re
import subprocess

import jinja2
import pytest

from conftest import REPO, load_ext, template_env, require_tools

pytestmark = [pytest.mark.realtool]

drbd_mod = load_ext("modules", "drbd")
HOSTILE = ['a "quoted" b', "back\\slash", 'mix \\" }; # x', "brace}semi;", "{open", "tail\\\\x"]


@pytest.fixture(scope="module")
def env():
    return template_env()


def render(env, path, **ctx):
    return env.get_template(path).render(**ctx)


# ------------------------------------------------------------------------------ lighttpd
LIGHTTPD = "opennebula/files/default/lighttpd-opennebula.conf.jinja"


def lighttpd_conf(env, tmp_path, cert, **kw):
    ctx = dict(bind="127.0.0.1", port=8443, http="disabled", http_port=80, cert=cert,
               key=str(tmp_path / "key.pem"), backend_host="127.0.0.1", backend_port=9869)
    ctx.update(kw)
    body = render(env, LIGHTTPD, **ctx)
    conf = tmp_path / "lighttpd.conf"
    conf.write_text(f'server.document-root = "{tmp_path}"\n' + body + "\n")
    return conf


@pytest.mark.skipif(not os.path.exists("/usr/sbin/lighttpd"), reason="needs lighttpd")
@pytest.mark.parametrize("name", HOSTILE)
def test_lighttpd_strings_survive(env, tmp_path, name):
    cert = str(tmp_path / name)
    conf = lighttpd_conf(env, tmp_path, cert)
    out = subprocess.run(["lighttpd", "-tt", "-f", str(conf)], capture_output=True, text=True,
                         timeout=30)
    # the parse succeeded and lighttpd tried to load exactly this file
    assert f"fdevent_load_file() {cert}: No such file or directory" in out.stderr, out.stderr


def test_lighttpd_refuses_what_it_cannot_read_back(env, tmp_path):
    with pytest.raises(jinja2.exceptions.TemplateError, match="ends with a backslash"):
        lighttpd_conf(env, tmp_path, "/etc/x\\")
    with pytest.raises(jinja2.exceptions.TemplateError, match="line break"):
        lighttpd_conf(env, tmp_path, "/etc/x", backend_host="a\nserver.port = 1")


# ---------------------------------------------------------------------------------- DRBD
@require_tools("drbdadm")
@pytest.mark.parametrize("syntax", ["8.4", "9"])
def test_drbd_strings_survive_drbdadm(env, tmp_path, syntax):
    nodes = {"cloud-cc01": "192.168.100.11", "cloud-cc02": "192.168.100.12"}
    disk = '/dev/disk/by-id/a "b\\c}; d'
    handler = 'echo "x\\y" ; logger }{ # not a comment'
    gc = render(env, "drbd/files/default/global_common.conf.jinja", syntax=syntax,
                disable_ip_verification=True,
                common={"handlers": {"split-brain": handler}, "disk_options": {}})
    res = render(env, "drbd/files/default/resource.res.jinja", syntax=syntax, resource={
        "name": "r0", "minor": 0, "disk": disk, "meta_disk": "/dev/x y[3]", "port": 7788,
        "nodes": nodes})
    (tmp_path / "gc.conf").write_text(gc)
    (tmp_path / "r0.res").write_text(res)
    conf = tmp_path / "drbd.conf"
    conf.write_text(f'include "{tmp_path}/gc.conf";\ninclude "{tmp_path}/r0.res";\n')
    e = dict(os.environ, __DRBD_NODE__="cloud-cc01",
             DRBD_DRIVER_VERSION_OVERRIDE={"8.4": "8.4.11", "9": "9.2.0"}[syntax])
    out = subprocess.run(["drbdadm", "-c", str(conf), "dump-xml", "all"], capture_output=True,
                         text=True, env=e, timeout=30)
    assert out.returncode == 0, out.stderr + res
    parsed = drbd_mod.parse_dump_xml(out.stdout)
    vol = parsed["resources"]["r0"]["hosts"]["cloud-cc01"]["volumes"][0]
    assert (vol["disk"], vol["meta_disk"], vol["meta_index"]) == (disk, "/dev/x y", 3)
    assert parsed["common"]["handlers"]["split-brain"] == handler


@pytest.mark.parametrize("where,value", [("name", "r0 {"), ("name", 'r"0'), ("host", "a;b"),
                                         ("address", "1.2.3.4; disk /dev/x")])
def test_drbd_names_and_addresses_are_words_or_refused(env, where, value):
    nodes = {"cloud-cc01": "192.168.100.11", "cloud-cc02": "192.168.100.12"}
    resource = {"name": "r0", "minor": 0, "disk": "/dev/sdb", "port": 7788, "nodes": nodes}
    if where == "name":
        resource["name"] = value
    elif where == "host":
        resource["nodes"] = {value: "10.0.0.1", "b": "10.0.0.2"}
    else:
        resource["nodes"] = {"a": value, "b": "10.0.0.2"}
    with pytest.raises(jinja2.exceptions.TemplateError, match="is not a plain word"):
        render(env, "drbd/files/default/resource.res.jinja", syntax="9", resource=resource)


def test_drbd_ipv6_address_is_a_word(env):
    nodes = {"a": "[fd00::1]", "b": "[fd00::2]"}
    text = render(env, "drbd/files/default/resource.res.jinja", syntax="9", resource={
        "name": "r0", "minor": 0, "disk": "/dev/sdb", "port": 7788, "nodes": nodes,
        "address_family": "ipv6"})
    assert "address ipv6 [fd00::1]:7788;" in text


# ------------------------------------------------------------------------------ corosync
COROSYNC = "pacemaker/files/default/corosync.conf.jinja"


def corosync_ctx(**kw):
    ctx = dict(cluster_name="one-cluster", transport="knet", token=3000, crypto_cipher="none",
               crypto_hash="none", keyfile="/etc/corosync/authkey", totem_options={},
               nodes=[{"name": "cloud-cc01", "nodeid": 1, "addrs": ["127.0.0.1"]}],
               rings=["lan"], two_node=False, logfile="/var/log/corosync/corosync.log")
    ctx.update(kw)
    return ctx


@require_tools("corosync")
def test_corosync_accepts_what_the_template_lets_through(env, tmp_path):
    text = render(env, COROSYNC, **corosync_ctx(cluster_name='odd:name #1 "q" x',
                                                logfile=str(tmp_path / "a b;c.log")))
    assert 'cluster_name: odd:name #1 "q" x\n' in text
    conf = tmp_path / "corosync.conf"
    conf.write_text(text)
    out = subprocess.run(["corosync", "-t", "-c", str(conf)], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("field,value,why", [
    ("cluster_name", "a}b", "{ or }"), ("cluster_name", "a{b", "{ or }"),
    ("cluster_name", "a\ntoken: 1", "line break"), ("cluster_name", " pad", "blanks"),
    ("cluster_name", '"quoted"', "surrounding quotes"), ("logfile", "#x", "leading #"),
    ("cluster_name", "", "empty")])
def test_corosync_refuses_what_it_cannot_carry(env, field, value, why):
    with pytest.raises(jinja2.exceptions.TemplateError, match=why):
        render(env, COROSYNC, **corosync_ctx(**{field: value}))
    with pytest.raises(jinja2.exceptions.TemplateError, match="corosync has no quoting"):
        render(env, COROSYNC, **corosync_ctx(totem_options={"consensus": "1}"}))


@require_tools("corosync")
def test_corosync_rejects_an_unescaped_brace_itself(tmp_path):
    """Why the template refuses: the real parser breaks on `{` inside a value."""
    text = "totem {\n    version: 2\n    cluster_name: a{b\n}\n"
    (tmp_path / "c.conf").write_text(text)
    out = subprocess.run(["corosync", "-t", "-c", str(tmp_path / "c.conf")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "Extra characters after opening bracket" in (
        out.stdout + out.stderr)


# ---------------------------------------------------------------------------------- my.cnf
@require_tools("my_print_defaults")
@pytest.mark.parametrize("log_bin", HOSTILE + ["/var/log/mysql/mysql-bin", "p#q", "tab\tx"])
def test_mycnf_values_survive_my_print_defaults(env, tmp_path, log_bin):
    text = render(env, "opennebula/files/default/mysql-replication.cnf.jinja", server_id=10,
                  offset=1, bind_address="192.168.100.11", log_bin=log_bin)
    (tmp_path / "my.cnf").write_text(text)
    out = subprocess.run(["my_print_defaults", f"--defaults-file={tmp_path / 'my.cnf'}",
                          "mysqld"], capture_output=True, text=True, timeout=30, check=True)
    opts = dict(line[2:].split("=", 1) for line in out.stdout.splitlines())
    assert opts["log_bin"] == log_bin
    assert opts["bind-address"] == "192.168.100.11" and opts["server-id"] == "10"


# -------------------------------------------------------------------------------- oned.conf
def oned_ctx(password, **db):
    d = {"backend": "mysql", "server": "localhost", "port": 3306, "user": "oneadmin",
         "name": "opennebula", "password_pillar": "secrets:one_db_password"}
    d.update(db)
    return dict(
        version="7.4",
        oned={"debug_level": 3, "port": 2633, "listen_address": "0.0.0.0", "grpc_port": 2634,
              "raft_hook": "/var/lib/one/remotes/hooks/raft/vip.sh"},
        db=d, federation={"zone_id": 0, "server_id": -1},
        raft={"election_timeout_ms": 2500, "broadcast_timeout_ms": 500,
              "xmlrpc_timeout_ms": 1000},
        raft_hooks="", tm_drivers=["shared"], ds_drivers=["fs"], ds_system_drivers=["shared"],
        variant="nfs", stack="pacemaker",
        salt={"pillar.get": lambda key, default="": password})


def test_oned_strings_are_escaped_or_refused(env):
    text = render(env, "opennebula/files/default/oned.conf.jinja",
                  **oned_ctx('p"w\\d ], x', user='us"er'))
    assert '       PASSWD  = "p\\"w\\\\d ], x",\n' in text
    assert '       USER    = "us\\"er",\n' in text
    with pytest.raises(jinja2.exceptions.TemplateError, match="line break"):
        render(env, "opennebula/files/default/oned.conf.jinja",
               **oned_ctx("x", name='one"\nLOG = ['))


# ---------------------------------------------------------------------------- /etc/exports
@require_tools("exportfs", "unshare")
def test_exports_path_survives_exportfs(env, tmp_path):
    import shlex

    directory = tmp_path / 'a b"c#(d)\\e'
    directory.mkdir()
    text = render(env, "storage/files/default/nfs-exports.jinja", export={
        "directory": str(directory), "clientspec": "192.168.100.0/24",
        "options": ["rw", "no_subtree_check", "anonuid=1001"]})
    exports = tmp_path / "exports"
    exports.write_text(text)
    (tmp_path / "varnfs").mkdir()
    script = (f"mount --bind {shlex.quote(str(tmp_path / 'varnfs'))} /var/lib/nfs; "
              f"mount --bind {shlex.quote(str(exports))} /etc/exports; exportfs -ra; "
              "cat /var/lib/nfs/etab")
    res = subprocess.run(["unshare", "-m", "sh", "-ec", script], capture_output=True,
                         text=True, check=False)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    path = res.stdout.split()[0]  # etab writes the path with the same octal escapes
    decoded = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)
    assert decoded == str(directory)


@pytest.mark.parametrize("field,value", [("clientspec", "10.0.0.0/8(rw) *"),
                                         ("clientspec", "a#b"), ("option", "rw,insecure"),
                                         ("option", "ro)")])
def test_exports_clients_and_options_are_words_or_refused(env, field, value):
    export = {"directory": "/srv", "clientspec": "10.0.0.0/8", "options": ["rw"]}
    if field == "clientspec":
        export["clientspec"] = value
    else:
        export["options"] = ["rw", value]
    with pytest.raises(jinja2.exceptions.TemplateError, match="cannot be written"):
        render(env, "storage/files/default/nfs-exports.jinja", export=export)


# -------------------------------------------------------------------------------- MooseFS
@pytest.mark.parametrize("value,why", [("a # b", "a comment"), (" x", "blanks"),
                                       ("x\nDATA_PATH = /", "line break"), ("", "empty")])
def test_moosefs_refuses_what_its_config_cannot_carry(env, value, why):
    ctx = dict(lookup={"user": "mfs", "group": "mfs", "data_dir": "/var/lib/mfs",
                       "conf_dir": "/etc/mfs", "ports": {"metalogger": 9419,
                                                         "chunkserver": 9420, "client": 9421}},
               moosefs={"listen_host": value, "master_host": "10.0.0.1", "config": {}})
    with pytest.raises(jinja2.exceptions.TemplateError, match=why):
        render(env, "storage/files/default/mfsmaster.cfg.jinja", **ctx)


# ---------------------------------------------------------------------------------- nginx
NGINX = "opennebula/files/default/nginx-opennebula.conf.jinja"


def nginx_ctx(**kw):
    ctx = dict(bind="[::]", port=443, http="redirect", http_port=80, cert="/etc/x.pem",
               key="/etc/x.key", backend_host="127.0.0.1", backend_port=9869)
    ctx.update(kw)
    return ctx


def test_nginx_strings_are_escaped_or_refused(env):
    """No nginx on this host: the escaped form and the refusals."""
    text = render(env, NGINX, **nginx_ctx(cert='/etc/a "b\\c};.pem'))
    assert '    ssl_certificate     "/etc/a \\"b\\\\c};.pem";\n' in text
    assert "    listen [::]:443 ssl;\n" in text
    with pytest.raises(jinja2.exceptions.TemplateError, match="nginx would expand"):
        render(env, NGINX, **nginx_ctx(key="/etc/$host.key"))
    with pytest.raises(jinja2.exceptions.TemplateError, match="not a plain word"):
        render(env, NGINX, **nginx_ctx(backend_host="127.0.0.1; return 200"))
