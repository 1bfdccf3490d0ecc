#!py
"""common/model.py: the one place the pillar is validated and roles are derived.

Two ways in:
  * Salt's `py` renderer (master-side under salt-ssh, no round trip): common/model.jinja
    calls `salt["slsutil.renderer"]("salt://common/model.py", default_renderer="py",
    pillar_in=pillar, grains_in=grains, defaults_in=defaults)`; the extra keyword arguments
    become globals of this module and `run()` returns the model, or {"errors": [...]} that
    model.jinja turns into the render failure.
  * `build(pillar, grains, defaults)`: a pure function (the unit tests import this file).

SCHEMA below declares every pillar key the formula reads (type, allowed values or pattern,
range, nullable), checked by a small typed checker (`check`); the rules that span keys are the
named functions in RULES. Every problem is reported, all at once, as
"<key path>: <value> <problem>; allowed: <what is allowed>", values as repr (secrets masked).
Patterns are applied with re.fullmatch (a `$` alone would let a trailing newline through).
Only the standard library is used: this file runs on the master and in the unit tests alike.
"""
import re

# ---- patterns: every value that reaches a shell, a config file or a command line ----------
LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_RE = rf"^{LABEL}(\.{LABEL})*$"
LABEL_RE = rf"^{LABEL}$"
IPV4_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_RE = rf"^{IPV4_OCTET}(\.{IPV4_OCTET}){{3}}$"
CIDR_RE = rf"^{IPV4_OCTET}(\.{IPV4_OCTET}){{3}}/([0-9]|[12][0-9]|3[0-2])$"
NET_RE = r"^[A-Za-z][A-Za-z0-9_-]{0,30}$"
IFACE_RE = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$"
NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
RESNAME_RE = r"^[A-Za-z0-9_.-]+$"
RSCID_RE = r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$"
PILLAR_KEY_RE = r"^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)*$"
ABSPATH_RE = r"^(?!.*/\.\.?(/|$))/([A-Za-z0-9_.+@-]+(/[A-Za-z0-9_.+@-]+)*/?)?$"
HDD_RE = r"^[*<>~]?(?!.*/\.\.?(/|$| ))/([A-Za-z0-9_.+@-]+(/[A-Za-z0-9_.+@-]+)*/?)?( -?[0-9]+(\.[0-9]+)?[KMGTPE]?i?B)?$"
ROOTPATH_RE = r"^/([A-Za-z0-9_.+@-]+(/[A-Za-z0-9_.+@-]+)*)?$"
DEVPATH_RE = r"^/dev/[A-Za-z0-9_.+:-]+(/[A-Za-z0-9_.+:-]+)*$"
URL_RE = r"^(https?|file)://[A-Za-z0-9._~:/@%{}+=,-]+$"
SALT_DIR_RE = r"^salt://(?!(.*/)?\.\.?(/|$))[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*/?$"
LINSTOR_URI_RE = r"^(linstor(\+ssl)?://)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:[0-9]{1,5})?$"
USER_RE = r"^[a-z_][a-z0-9_-]{0,31}$"
DBIDENT_RE = r"^[A-Za-z0-9_]{1,32}$"
VG_RE = r"^[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,126}$"
VERSION_RE = r"^[0-9]+\.[0-9]+$"
# The OpenNebula major lines the formula renders (oned.conf, drivers, services, packages follow
# opennebula:version; opennebula/files/oned-conf-versions.md); the first is the default.
ONE_VERSIONS = ["7.4", "6.10"]
OPTLIST_RE = r"^[A-Za-z0-9_=.,:/-]+$"
MIGRATE_RE = r"^[A-Za-z0-9_=,./:+ -]*$"
SSHKEY_RE = r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [A-Za-z0-9@._+-]{1,64})?$"
# free text (option values, attributes): one line, no quote, backslash, `$` or backtick
TEXT_RE = r"^[^\x00-\x1f\x7f\"'\\`$;{}#]*$"
OPTKEY_RE = r"^[A-Za-z][A-Za-z0-9_-]*$"
ATTR_RE = r"^[A-Z][A-Z0-9_]*$"
CFGKEY_RE = r"^[A-Z][A-Z0-9_]*$"
CRMKEY_RE = r"^[a-z][a-z0-9_-]*$"
DURATION_RE = r"^[0-9]+(ms|s|m|min|h)?$"
RATE_RE = r"^[0-9]+[KMG]?$"
LVM_FILTER_RE = r"^[ar]\|[^|\s\"'\\`$]+\|$"
MARKET_RE = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$"
MFS_EXPORT_RE = r"^[^\x00-\x1f\x7f\"\\`$]+$"
# directories that would take the whole system with them as a mount point or home
SYSTEM_DIRS = {"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt", "/proc",
               "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/var/lib"}

STACKS = ["pacemaker", "rgmanager", "raft", "none"]
VARIANTS = ["ssh", "nfs", "drbd_aoe_lvm", "moosefs", "linstor"]
LINSTOR_DRIVERS = ["LVM", "LVM_THIN", "ZFS", "ZFS_THIN", "FILE", "FILE_THIN", "DISKLESS"]
# what the linstor datastores carry (storage/linstor/datastores*.yaml): resource_group for
# LINBIT's OpenNebula driver 2.x/3.x, auto_place for the 1.x driver of the old LINSTOR guide
LINSTOR_DS_ATTRIBUTES = ["resource_group", "auto_place"]
BOND_MODES = ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb",
              "balance-alb"]
# datastore name -> TM_MADs that match the variant: the names and TM_MADs of the datastores each
# variant defines in storage/<variant>/datastores.yaml (test/render/test_datastores.py keeps
# both in step), for the opennebula:register:datastore_templates overrides
DATASTORES = {
    "ssh": {"system": ["ssh", "local"], "default": ["ssh", "local"]},  # 7.x: local
    "nfs": {"nfs_system": ["shared", "qcow2"], "nfs_images": ["shared", "qcow2"]},
    "moosefs": {"mfs_system": ["shared", "qcow2"], "mfs_images": ["shared", "qcow2"]},
    "drbd_aoe_lvm": {"lvm_system": ["fs_lvm", "fs_lvm_ssh"], "lvm_images": ["fs_lvm", "fs_lvm_ssh"]},
    "linstor": {"linstor_system_auto_place": ["linstor"], "linstor_image_auto_place": ["linstor"]},
}
EXTRA_TYPES = {
    "extra_resources": ["resource_present", "stonith_present", "clone_present", "group_present",
                        "resource_absent", "property_present", "property_absent"],
    "extra_constraints": ["colocation_present", "order_present", "location_present", "constraint_absent"],
}
PLACEHOLDERS = ["changeme", "password", "secret", "example"]


# ---- the typed checker ------------------------------------------------------------------------
class Spec:
    """One declared pillar value.

    kind: str | int | bool | map (declared keys) | dict (free keys: `key` spec, `value` spec) |
    list (`items` spec) | any (a mapping or scalar passed through, e.g. <component>:lookup) |
    either (`options`: the first spec that accepts the value).
    allowed: the closed list of values; pattern + desc: a regex and what it means; lo/hi: range;
    empty: '' accepted besides the pattern; nullable: null accepted; required: for map keys;
    secret: the value is masked in messages."""

    def __init__(self, kind, allowed=None, pattern=None, desc=None, lo=None, hi=None, keys=None,
                 key=None, value=None, items=None, options=None, nullable=False, empty=False,
                 required=False, secret=False, min_items=0, max_items=None, hint=None, refuse=None):
        self.kind, self.allowed, self.pattern, self.desc = kind, allowed, pattern, desc
        self.lo, self.hi, self.keys, self.key, self.value = lo, hi, keys, key, value
        self.items, self.options, self.nullable, self.empty = items, options, nullable, empty
        self.required, self.secret, self.min_items, self.max_items = required, secret, min_items, max_items
        self.hint, self.refuse = hint, refuse or {}
        self.rx = re.compile(pattern) if pattern else None

    def allowed_text(self):
        if self.hint:
            return self.hint
        if self.allowed is not None:
            return ", ".join(str(a) for a in self.allowed)
        if self.kind == "int":
            lo = "" if self.lo is None else self.lo
            hi = "" if self.hi is None else self.hi
            return f"an integer {lo}..{hi}"
        if self.kind == "bool":
            return "true or false (unquoted)"
        if self.kind == "str":
            return (self.desc or "a string") + (", or ''" if self.empty else "")
        if self.kind == "map":
            return "a mapping with keys " + ", ".join(self.keys)
        if self.kind == "dict":
            return "a mapping " + (self.key.desc or "name") + " -> " + self.value.allowed_text()
        if self.kind == "list":
            return "a list of " + self.items.allowed_text()
        if self.kind == "either":
            return " or ".join(o.allowed_text() for o in self.options)
        return "anything"


def Str(pattern=None, desc=None, **kw):
    return Spec("str", pattern=pattern, desc=desc, **kw)


def OneOf(*allowed, **kw):
    return Spec("str", allowed=list(allowed), **kw)


def Int(lo=None, hi=None, **kw):
    return Spec("int", lo=lo, hi=hi, **kw)


def Bool(**kw):
    return Spec("bool", **kw)


def Map(keys, **kw):
    return Spec("map", keys=keys, **kw)


def Dict(key, value, **kw):
    return Spec("dict", key=key, value=value, **kw)


def List(items, **kw):
    return Spec("list", items=items, **kw)


def Either(*options, **kw):
    return Spec("either", options=list(options), **kw)


def Any(**kw):
    return Spec("any", **kw)


TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number with a fraction",
              str: "a string", list: "a list", dict: "a mapping", type(None): "null"}


def type_name(value):
    for typ, name in TYPE_NAMES.items():
        if type(value) is typ:
            return name
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def show(value, secret=False):
    """The value as it appears in a message: repr, a secret masked, long values cut."""
    if secret and value not in (None, ""):
        return "'<hidden>'"
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def join(path, key):
    return f"{path}:{key}" if path else str(key)


class Checker:
    def __init__(self):
        self.errors = []
        self.flagged = set()

    def fail(self, path, problem, allowed):
        self.flagged.add(path)
        self.errors.append(f"{path}: {problem}; allowed: {allowed}")

    def bad(self, path):
        """True when the schema already reported `path` or something under it."""
        return any(f == path or f.startswith(path + ":") for f in self.flagged)

    def check(self, spec, value, path):
        """Check `value` against `spec`; record every problem; return True when it is sound."""
        if value is None:
            if spec.nullable:
                return True
            self.fail(path, "is null", spec.allowed_text())
            return False
        kind = spec.kind
        if kind == "any":
            return True
        if kind == "either":
            for option in spec.options:
                sub = Checker()
                if sub.check(option, value, path):
                    return True
            typed = [o for o in spec.options if _type_ok(o, value)]
            if len(typed) == 1:
                return self.check(typed[0], value, path)
            problem = "is not valid" if typed else f"is {type_name(value)}"
            self.fail(path, f"{show(value, spec.secret)} {problem}", spec.allowed_text())
            return False
        if not _type_ok(spec, value):
            want = {"str": "a string", "int": "an integer", "bool": "true or false",
                    "map": "a mapping", "dict": "a mapping", "list": "a list"}[kind]
            extra = ""
            if kind == "str" and isinstance(value, (int, float)) and not isinstance(value, bool):
                extra = " (quote it)"
            if kind == "bool" and isinstance(value, str):
                extra = " (write true or false without quotes)"
            self.fail(path, f"{show(value, spec.secret)} is {type_name(value)}, not {want}{extra}",
                      spec.allowed_text())
            return False
        if kind == "str":
            return self._check_str(spec, value, path)
        if kind == "int":
            if (spec.lo is not None and value < spec.lo) or (spec.hi is not None and value > spec.hi):
                what = f"is not {spec.desc}" if spec.desc else "is out of range"
                self.fail(path, f"{show(value)} {what}", spec.allowed_text())
                return False
            if value in spec.refuse:
                self.fail(path, f"{show(value)} {spec.refuse[value]}", spec.allowed_text())
                return False
            return True
        if kind == "bool":
            return True
        if kind == "map":
            ok = True
            for key in value:
                if key not in spec.keys:
                    self.fail(join(path, key), "unknown key", ", ".join(sorted(spec.keys)) + f" under {path}")
                    ok = False
            for key, sub in spec.keys.items():
                if key in value:
                    ok = self.check(sub, value[key], join(path, key)) and ok
                elif sub.required:
                    self.fail(join(path, key), "missing", sub.allowed_text())
                    ok = False
            return ok
        if kind == "dict":
            ok = True
            for key, item in value.items():
                kpath = join(path, key)
                if not isinstance(key, str):
                    self.fail(kpath, f"the key {show(key)} is {type_name(key)}, not a string (quote it)",
                              spec.key.allowed_text())
                    ok = False
                    continue
                if not self._check_str(spec.key, key, kpath, quiet_flag=False):
                    ok = False
                    continue
                ok = self.check(spec.value, item, kpath) and ok
            if len(value) < spec.min_items:
                self.fail(path, "is empty", spec.allowed_text())
                ok = False
            return ok
        if kind == "list":
            ok = True
            if len(value) < spec.min_items or (spec.max_items is not None and len(value) > spec.max_items):
                lo, hi = spec.min_items, "" if spec.max_items is None else spec.max_items
                self.fail(path, f"{show(value)} has {len(value)} entries", f"{lo}..{hi} of {spec.items.allowed_text()}")
                ok = False
            for i, item in enumerate(value):
                ok = self.check(spec.items, item, f"{path}[{i}]") and ok
            return ok
        raise ValueError(kind)

    def _check_str(self, spec, value, path, quiet_flag=False):
        if value == "" and spec.empty:
            return True
        if spec.allowed is not None:
            if value not in spec.allowed:
                self.fail(path, f"unknown value {show(value, spec.secret)}", spec.allowed_text())
                return False
            return True
        if spec.rx and not spec.rx.fullmatch(value):
            self.fail(path, f"{show(value, spec.secret)} is not {spec.desc or 'valid'}", spec.allowed_text())
            return False
        norm = value.rstrip("/") or value
        if norm in spec.refuse:
            self.fail(path, f"{show(value)} {spec.refuse[norm]}", spec.allowed_text())
            return False
        return True


def _type_ok(spec, value):
    kind = spec.kind
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind in ("map", "dict"):
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    return True


# ---- the schema: every pillar key the formula reads ------------------------------------------
def Hostname(**kw):
    return Str(HOSTNAME_RE, "a valid hostname",
               hint="letters, digits, '-' and '.'-separated labels of 1-63 characters", **kw)


def Ipv4(**kw):
    return Str(IPV4_RE, "an IPv4 address", hint="a.b.c.d", **kw)


def HostOrIp(**kw):
    return Str(HOSTNAME_RE, "a host name or IPv4 address", hint="a host name or an IPv4 address", **kw)


def NetName(**kw):
    return Str(NET_RE, "a network name", hint="a name from cluster:networks (letters, digits, '_', '-')", **kw)


def Iface(**kw):
    return Str(IFACE_RE, "a valid interface name", hint="up to 15 letters, digits, '_', '.', '-'", **kw)


def PillarKey(**kw):
    return Str(PILLAR_KEY_RE, "a pillar key", hint="a ':'-separated pillar key, e.g. secrets:name", **kw)


def Port(**kw):
    return Int(1, 65535, desc="a TCP port", hint="1..65535", **kw)


def Path(**kw):
    refuse = {d: "is a system directory" for d in SYSTEM_DIRS}
    refuse["/"] = "is the root directory"
    return Str(ABSPATH_RE, "an absolute path", refuse=refuse,
               hint="/an/absolute/path of letters, digits and _.+@- (not / or a system directory)", **kw)


def DevPath(**kw):
    return Str(DEVPATH_RE, "a block device path", hint="a block device path /dev/...", **kw)


def Text(**kw):
    return Str(TEXT_RE, "one line of plain text", hint="one line without quotes, backslash, $, `, ;, {, } or #", **kw)


def Scalar():
    return Either(Text(), Int(), Bool(), hint="a number, true/false or one line of plain text")


def Options(key_re=OPTKEY_RE):
    return Dict(Str(key_re, "an option name", hint="letters, digits, '_', '-'"), Scalar())


def Name(**kw):
    return Str(NAME_RE, "a valid name", hint="letters, digits, '_', '.', '-' (starting with a letter or digit)", **kw)


TOFS = Map({
    "path_prefix": Str(RESNAME_RE, "a salt:// directory", hint="a directory name"),
    "dirs": Map({"files": Str(RESNAME_RE, "a directory name", hint="a directory name")}),
    "files_switch": List(Str(r"^[a-z_]+$", "a grain name", hint="a grain name")),
    "source_files": Dict(Str(r"^[A-Za-z0-9_.-]+$", "a lookup name"),
                         List(Str(r"^[A-Za-z0-9_.-]+$", "a file name", hint="a file name"))),
})
LOOKUP = Dict(Str(r"^[A-Za-z0-9_.-]+$", "a lookup key", hint="a key of <component>/defaults.yaml"),
              Any(nullable=True), hint="a mapping of OS-level overrides (<component>/defaults.yaml keys)")

NODE_ADDRS = Dict(NetName(), Ipv4(), nullable=True)
DRBD_SECTION = {
    "protocol": OneOf("A", "B", "C"),
    "resync_rate": Either(Str(RATE_RE, "a rate", hint="e.g. 100M"), Int(1)),
    "fencing": OneOf("dont-care", "resource-only", "resource-and-stonith"),
    "crm_fence_handlers": Bool(),
    "quorum": Either(OneOf("off", "majority", "all"), Int(1, 32)),
    "on_no_quorum": OneOf("io-error", "suspend-io"),
    "handlers": Dict(Str(OPTKEY_RE, "a handler name"), Str(r"^/[^\x00-\x1f\x7f\"'\\`$;|&<>]*$",
                                                          "a handler command", hint="an absolute command path with plain arguments")),
    "options": Options(),
}
DRBD_COMMON = dict(DRBD_SECTION, net=Options(), disk=Options(), startup=Options())
DRBD_RESOURCE = dict(
    DRBD_SECTION,
    minor=Int(0, 1048575, required=True),
    port=Port(required=True),
    disk=DevPath(required=True),
    meta_disk=Str(r"^(internal|/dev/[A-Za-z0-9_.+:/-]+(\[[0-9]+\])?)$", "valid",
                  hint="internal, /dev/DEVICE or /dev/DEVICE[index]"),
    meta_index=Int(0, 255),
    # the DRBD device (/dev/drbdN by default): any absolute path of safe characters
    device=Str(ABSPATH_RE, "a device path", hint="an absolute path, e.g. /dev/drbd1"),
    address_family=OneOf("ipv4", "ipv6"),
    net=Options(), net_options=Options(), disk_options=Options(), startup=Options(),
    startup_options=Options(),
    wipe_backing_device=Bool(),
)

SCHEMA = Map({
    "cluster": Map({
        "name": Str(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$", "a cluster name",
                    hint="up to 32 letters, digits, '_', '-'"),
        "domain": Str(HOSTNAME_RE, "a valid DNS domain", hint="'.'-separated labels of letters, digits and '-'"),
        "networks": Dict(NetName(), Str(CIDR_RE, "an IPv4 CIDR", hint="a.b.c.d/prefix")),
        "network_domains": Dict(NetName(), Str(HOSTNAME_RE, "a valid DNS domain",
                                               hint="'.'-separated labels of letters, digits and '-'")),
        "frontends": Dict(Hostname(), NODE_ADDRS),
        "hypervisors": Dict(Hostname(), NODE_ADDRS),
        "storage_servers": Dict(Hostname(), NODE_ADDRS),
        "storage_network": NetName(),
        "vips": Dict(NetName(), Ipv4()),
        "vip_name": Str(LABEL_RE, "a valid hostname", empty=True,
                        hint="one label of letters, digits and '-' (1-63 characters, no dots)"),
        "hosts": Map({"short_names": NetName(empty=True)}),
        "bonds": Dict(Hostname(), Dict(Iface(), Map({
            "mode": OneOf(*BOND_MODES),
            "miimon": Int(0, 60000), "downdelay": Int(0, 60000), "updelay": Int(0, 60000),
            "mtu": Int(576, 65535),
            "slaves": List(Iface(), min_items=1, required=True),
            "network": NetName(required=True),
        }))),
        "time": Map({
            "enabled": Bool(),
            "servers": List(HostOrIp()),
            "pools": List(HostOrIp()),
        }),
    }),
    "opennebula": Map({
        "version": OneOf(*ONE_VERSIONS, hint="'7.4' or '6.10', quoted (6.10 unquoted is the number 6.1)"),
        "install_packages": Bool(),
        "repo": Map({"url": Str(URL_RE, "a URL", hint="http(s)://... ({version} is replaced)"),
                     "key_url": Str(URL_RE, "a URL", hint="http(s)://...")}),
        "ha": Map({
            "stack": OneOf(*STACKS),
            "raft": Map({
                "server_ids": Dict(Hostname(), Int(0, 1000)),
                "election_timeout_ms": Int(100, 600000),
                "broadcast_timeout_ms": Int(10, 600000),
                "xmlrpc_timeout_ms": Int(10, 600000),
                "zone_id": Int(0, 10000),
                "vip_interfaces": Dict(NetName(), Iface()),
                "overwrite_follower_db": Bool(),
            }),
            "rgmanager": Map({
                "ricci_password_pillar": PillarKey(),
                "fence_xvm": Map({
                    "enabled": Bool(),
                    "host": Hostname(empty=True),
                    "interface": Iface(),
                    "multicast_address": Ipv4(),
                    "port": Port(),
                    "key_pillar": PillarKey(),
                    "domains": Dict(Hostname(), Str(r"^[A-Za-z0-9_.+-]{1,64}$", "a libvirt domain name",
                                                    hint="letters, digits, '_', '.', '+', '-'")),
                }),
            }),
        }),
        "oneadmin": Map({
            "uid": Int(1, 2147483647, refuse={65534: "is nobody"},
                       hint="a fixed numeric id (not 0) shared by every node"),
            "gid": Int(1, 2147483647, refuse={65534: "is nogroup"},
                       hint="a fixed numeric id (not 0) shared by every node"),
            "group": Str(USER_RE, "a group name", hint="lower-case letters, digits, '_', '-'"),
            "home": Path(),
            "ssh_private_key_pillar": PillarKey(),
            "ssh_public_key": Str(SSHKEY_RE, "an ssh public key", empty=True,
                                  hint="one line '<type> <base64> [comment]'"),
        }),
        "one_auth_pillar": PillarKey(),
        "fireedge_key_pillar": PillarKey(),
        "endpoint": Str(URL_RE, "a URL", hint="http(s)://host:port/RPC2"),
        "db": Map({
            "backend": OneOf("mysql", "mariadb", "sqlite"),
            "name": Str(r"^[A-Za-z0-9_]{1,64}$", "a database name", hint="letters, digits, '_' (1-64)"),
            "user": Str(DBIDENT_RE, "a database user", hint="letters, digits, '_' (1-32)"),
            "password_pillar": PillarKey(),
            "replication": OneOf("none", "master-master"),
            "replication_user": Str(DBIDENT_RE, "a database user", hint="letters, digits, '_' (1-32)"),
            "replication_password_pillar": PillarKey(),
            "host": HostOrIp(),
            "port": Int(0, 65535, hint="0 (the default port/socket) or 1..65535"),
        }),
        "proxy": Map({
            "server": OneOf("lighttpd", "nginx"),
            "port": Port(),
            "http": OneOf("redirect", "disabled"),
            "http_port": Port(),
            "backend_port": Port(),
            "backend_host": HostOrIp(),
            "bind": Ipv4(empty=True),
            "self_signed": Bool(),
            "cert_pillar": PillarKey(empty=True),
            "key_pillar": PillarKey(empty=True),
        }),
        "node": Map({
            "qemu_user": Str(USER_RE, "a user name", hint="lower-case letters, digits, '_', '-'"),
            "qemu_group": Str(USER_RE, "a group name", empty=True, hint="lower-case letters, digits, '_', '-'"),
            "dynamic_ownership": Int(0, 1),
            "migrate_over_ssh": Bool(),
            "migrate_options": Str(MIGRATE_RE, "a list of virsh migrate options",
                                   hint="a string of letters, digits, spaces and _=,./:+- (e.g. '--unsafe'), '' leaves kvmrc's own"),
            "apparmor_allow": Bool(),
        }),
        "register": Map({
            "hosts": Bool(),
            "datastores": Bool(),
            "im_mad": Str(r"^[a-z0-9_]{1,32}$", "a driver name", hint="e.g. kvm"),
            "vm_mad": Str(r"^[a-z0-9_]{1,32}$", "a driver name", hint="e.g. kvm"),
            "cluster": Name(),
            "datastore_templates": Dict(Name(), Dict(Str(ATTR_RE, "a template attribute",
                                                         hint="upper-case letters, digits, '_'"), Scalar())),
            "linstor_system_pool": Name(empty=True),
            "linstor_image_pool": Name(empty=True),
            "marketplaces": Dict(Str(MARKET_RE, "a marketplace name",
                                     hint="letters, digits, spaces and ._- (e.g. OpenNebula Public)"),
                                 Map({"enabled": Bool(required=True)})),
        }),
        "recover_transient": OneOf("report", "success", "failure", "retry"),
        "recover_include_failed": Bool(),
        "lookup": LOOKUP,
        "tofs": TOFS,
    }),
    "storage": Map({
        "variant": OneOf(*VARIANTS),
        "datastores_path": Path(),
        "nfs": Map({
            "server": Hostname(empty=True),
            "export_path": Path(),
            "export_options": Str(OPTLIST_RE, "an exports(5) option list",
                                  hint="comma-separated options, no spaces"),
            "network": NetName(),
            "mount_options": Str(OPTLIST_RE, "a comma-separated option list",
                                 hint="e.g. rw,_netdev,rsize=1048576,wsize=1048576,auto"),
            "idmapd_domain": Str(HOSTNAME_RE, "a valid DNS domain", empty=True,
                                 hint="'.'-separated labels of letters, digits and '-'"),
        }),
        "drbd_aoe_lvm": Map({
            "one_disk": Str(RESNAME_RE, "a DRBD resource name", hint="a key of drbd:resources"),
            "data_disk": Str(RESNAME_RE, "a DRBD resource name", hint="a key of drbd:resources"),
            "one_mount": Path(),
            "one_fstype": OneOf("ext4", "ext3", "xfs", "btrfs"),
            "mkfs_one_disk": Bool(),
            "vg": Str(VG_RE, "a volume group name", refuse={".": "is reserved", "..": "is reserved"},
                      hint="letters, digits and _.+- (not starting with '-')"),
            "aoe": Map({"shelf": Int(0, 65534), "slot": Int(0, 255), "nic": Iface(),
                        "initramfs": Bool()}),
            "nfs_export_options": Str(OPTLIST_RE, "an exports(5) option list",
                                      hint="comma-separated options, no spaces"),
            "nfs_fsid": Int(0, 2147483647),
            "lvm_filter": List(Str(LVM_FILTER_RE, "an LVM filter entry", hint="a|regex| or r|regex|"),
                               min_items=1),
        }),
        "moosefs": Map({
            "master": Hostname(empty=True),
            "chunkservers": List(Hostname()),
            # mfshdd.cfg lines: [*|<|>|~]/path [[-]size], e.g. '*/srv/mfs/b -5GiB'
            "hdds": List(Str(HDD_RE, "a chunkserver directory",
                             hint="an absolute directory (not / or a system directory), mfshdd.cfg "
                                  "markers */</>/~ and a size like ' -5GiB' allowed"), min_items=1),
            "goal": Int(1, 9),
            "master_host": HostOrIp(empty=True),
            "listen_host": Either(Ipv4(), OneOf("*", ""), hint="an IPv4 address, '*' or ''"),
            "cgiserv": Bool(),
            "exports_options": Str(OPTLIST_RE, "an mfsexports option list", hint="e.g. rw,alldirs,maproot=0"),
            "extra_exports": List(Str(MFS_EXPORT_RE, "an mfsexports.cfg line",
                                      hint="one mfsexports.cfg line without quotes, backslash, $ or `")),
            "mount_options": Str(OPTLIST_RE, "a comma-separated option list", hint="e.g. rw,_netdev,mfsdelayedinit"),
            "subfolder": Str(ROOTPATH_RE, "a MooseFS path", hint="/ or /a/path"),
            "create_hdds": Bool(),
            "config": Map({"master": Options(CFGKEY_RE), "chunkserver": Options(CFGKEY_RE),
                           "metalogger": Options(CFGKEY_RE)}),
        }),
        "linstor": Map({
            "controller": Hostname(empty=True),
            "pools": Dict(Name(), Map({
                "driver": OneOf(*LINSTOR_DRIVERS, required=True),
                "driver_pool": Str(r"^[A-Za-z0-9_.+/-]+$", "a driver pool", hint="e.g. vg/thinpool"),
                "nodes": List(Hostname(), min_items=1),
                "properties": Options(r"^[A-Za-z][A-Za-z0-9_/-]*$"),
            })),
            "place_count": Int(1, 32),
            "drbd_options": Options(r"^[A-Za-z][A-Za-z0-9_/-]*$"),
            "resource_group": Name(),
            "resource_group_storage_pool": Either(Name(empty=True), List(Name(), min_items=1)),
            "controllers": Either(Str(LINSTOR_URI_RE, "a LINSTOR controller URI", empty=True,
                                      hint="linstor://host[:port] or linstor+ssl://host[:port]"),
                                  List(Str(LINSTOR_URI_RE, "a LINSTOR controller URI",
                                           hint="linstor://host[:port]"), min_items=1)),
            "node_names": Dict(Hostname(), Hostname()),
            "datastore_attributes": OneOf(*LINSTOR_DS_ATTRIBUTES),
            "driver_source": Str(SALT_DIR_RE, "a salt:// directory", empty=True,
                                 hint="'' (LINBIT's linstor-opennebula package) or salt://<dir> "
                                      "holding the driver's datastore/, tm/ and one/"),
        }),
        "lookup": LOOKUP,
        "tofs": TOFS,
    }),
    "drbd": Map({
        "syntax": OneOf("8.4", "9"),
        "initial_primary": Hostname(empty=True),
        "network": NetName(),
        "common": Map(DRBD_COMMON),
        "node_names": Dict(Hostname(), Hostname()),
        "global": Map({"usage_count": OneOf("yes", "no", "ask"), "disable_ip_verification": Bool(),
                       "udev_always_use_vnr": Bool(), "options": Options()}),
        "resources": Dict(Str(RESNAME_RE, "a DRBD resource name", hint="letters, digits, '_', '-', '.'"),
                          Map(DRBD_RESOURCE)),
        "lookup": LOOKUP,
        "tofs": TOFS,
    }),
    "pacemaker": Map({
        "corosync": Map({
            "transport": OneOf("knet", "udpu", "udp"),
            "rings": List(NetName(), min_items=1, max_items=8),
            "token": Int(100, 600000, hint="an integer >= 100 (ms)"),
            "nodeids": Dict(Hostname(), Int(1, 2147483647)),
            "crypto_cipher": OneOf("none", "aes256", "aes192", "aes128"),
            "crypto_hash": OneOf("none", "md5", "sha1", "sha256", "sha384", "sha512"),
            "options": Options(r"^[a-z][a-z0-9_]*$"),
        }),
        "authkey_pillar": PillarKey(),
        "vip_nics": Dict(NetName(), Iface()),
        "services": List(Str(r"^[a-z][a-z0-9_-]{0,31}$", "a service id",
                             hint="opennebula, sunstone, fireedge (pacemaker:lookup:service_resources)")),
        "stonith": Map({
            "enabled": Bool(),
            "i_understand_no_fencing": Bool(),
            "pcmk_delay_max": Either(Str(DURATION_RE, "a duration", empty=True, hint="e.g. 15s"), Int(0)),
            # two front-ends: the node running the resources wins a fencing race ('' = twice
            # pcmk_delay_max, 15s without it; 0 = off)
            "priority_fencing_delay": Either(Str(DURATION_RE, "a duration", empty=True,
                                                 hint="e.g. 30s, '' (twice pcmk_delay_max) or 0"), Int(0)),
            "devices": Dict(Str(RSCID_RE, "a resource id", hint="a letter, then letters, digits, '_', '.', '-'"),
                            Map({
                                "agent": Str(r"^fence_[a-z0-9_]+$", "a fence agent", required=True,
                                             hint="fence_<name>, e.g. fence_ipmilan"),
                                "params": Options(CRMKEY_RE),
                                "password_pillar": PillarKey(),
                                "password_param": Str(CRMKEY_RE, "a parameter name", hint="e.g. password"),
                                "ops": Dict(Str(CRMKEY_RE, "an operation"), Options(CRMKEY_RE)),
                                "meta": Options(CRMKEY_RE),
                            }), nullable=False),
            # SBD: shared-disk (fence_sbd) or watchdog-only fencing; pacemaker/sbd
            "sbd": Map({
                "enabled": Bool(),
                "mode": OneOf("disk", "watchdog"),
                "devices": List(Map({
                    "path": Str(DEVPATH_RE, "a block device path", required=True,
                               hint="a stable block device path, e.g. /dev/disk/by-id/virtio-sbd0"),
                    "force_create": Bool(),
                }), max_items=3),
                "watchdog": Map({
                    "device": Str(DEVPATH_RE, "a device path", hint="a watchdog device, e.g. /dev/watchdog"),
                    "module": Str(r"^[A-Za-z0-9_-]{1,63}$", "a kernel module name", empty=True,
                                  hint="a watchdog driver module, e.g. softdog or i6300esb"),
                }),
                "watchdog_timeout": Int(1, 600, hint="an integer 1..600 (seconds)"),
                "msgwait_timeout": Int(2, 1200, hint="an integer 2..1200 (seconds)"),
                "stonith_watchdog_timeout": Int(0, 1200, hint="an integer 0..1200 (seconds; 0 = twice watchdog_timeout)"),
                "startmode": OneOf("always", "clean"),
                "delay_start": Either(OneOf("yes", "no"), Int(2, 3600, hint="an integer 2..3600 (seconds; 1 would read as yes)"),
                                      hint="yes, no or seconds 2..3600 (1 would read as yes)"),
            }),
        }),
        "properties": Options(CRMKEY_RE),
        "rsc_defaults": Options(CRMKEY_RE),
        "op_defaults": Options(CRMKEY_RE),
        # crm state arguments; null removes an entry merged from another pillar file
        "extra_resources": Dict(Str(RSCID_RE, "a resource id", hint="a letter, then letters, digits, '_', '.', '-'"),
                                Dict(Str(r"^[a-z_]+$", "a crm argument", hint="type and the crm state's arguments"),
                                     Any(nullable=True), nullable=True)),
        "extra_constraints": Dict(Str(RSCID_RE, "a constraint id", hint="a letter, then letters, digits, '_', '.', '-'"),
                                  Dict(Str(r"^[a-z_]+$", "a crm argument", hint="type and the crm state's arguments"),
                                       Any(nullable=True), nullable=True)),
        "lookup": LOOKUP,
        "tofs": TOFS,
    }),
})
COMPONENTS = ["cluster", "opennebula", "storage", "drbd", "pacemaker"]


def schema_paths(spec=SCHEMA, path=""):
    """Every declared key path ('*' for a free key), for the catalogue coverage test."""
    out = []
    if spec.kind == "map":
        for key, sub in spec.keys.items():
            p = join(path, key)
            out.append(p)
            out.extend(schema_paths(sub, p))
    elif spec.kind == "dict":
        p = join(path, "*")
        out.append(p)
        out.extend(schema_paths(spec.value, p))
    return out


# ---- helpers ------------------------------------------------------------------------------
def merge(dest, src):
    """defaults.merge semantics (salt.utils.dictupdate.update, lists replaced), on copies."""
    out = dict(dest)
    for key, val in src.items():
        if isinstance(out.get(key), dict) and isinstance(val, dict):
            out[key] = merge(out[key], val)
        else:
            out[key] = val
    return out


def traverse(data, key, default=None):
    """pillar.get("a:b:c") semantics."""
    cur = data
    for part in str(key).split(":"):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return default
    return cur


def ipint(ip):
    a, b, c, d = (int(x) for x in ip.split("."))
    return a * 16777216 + b * 65536 + c * 256 + d


def mapping(value):
    return value if isinstance(value, dict) else {}


def strs(value):
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


class Ctx:
    """What the rules share: the merged settings, the checker, and the derived facts."""

    def __init__(self, pillar, grains, defaults):
        self.pillar = pillar
        self.grains = grains
        self.defaults = defaults
        self.ck = Checker()
        self.S = {}
        for key in COMPONENTS:
            given = pillar.get(key)
            if given is None:
                given = {}
            base = defaults.get(key, {})
            self.S[key] = merge(base, given) if isinstance(given, dict) else given
        self.minion_id = grains.get("id", "")
        self.os_family = grains.get("os_family", "") or ""

    def err(self, message):
        self.ck.errors.append(message)

    def bad(self, path):
        return self.ck.bad(path)

    def netlist(self):
        return ", ".join(self.C_networks.keys())

    def nodelist(self):
        return ", ".join(sorted(self.nodes))


# ---- cross-key rules (each one named, all of them run) -------------------------------------
def rule_networks(x):
    x.nets = {}
    for name, cidr in x.C_networks.items():
        p = f"cluster:networks:{name}"
        if x.bad(p) or not isinstance(cidr, str):
            continue
        base_ip, prefix = cidr.split("/")
        size = 2 ** (32 - int(prefix))
        base = ipint(base_ip)
        if base % size != 0:
            x.err(f"{p}: '{cidr}' has host bits set; allowed: the network address, e.g. {base_ip} masked to /{prefix}")
        else:
            x.nets[name] = {"base": base, "size": size, "cidr": cidr, "prefix": int(prefix)}
    if not x.C_networks and not x.bad("cluster:networks"):
        x.err("cluster:networks: no network defined; allowed: name -> IPv4 CIDR, e.g. san: 192.168.100.0/24")
    sn = x.storage_net
    if x.C_networks and isinstance(sn, str) and sn not in x.C_networks:
        x.err(f"cluster:storage_network: '{sn}' is not a network in cluster:networks; allowed: {x.netlist()}")


def in_net(x, net, ip):
    n = x.nets[net]
    return ipint(ip) // n["size"] == n["base"] // n["size"]


def rule_nodes(x):
    x.nodes = {}
    x.addr_owner = {}
    for gname in ["frontends", "hypervisors", "storage_servers"]:
        for node, addrs in x.groups[gname].items():
            npath = f"cluster:{gname}:{node}"
            if not isinstance(addrs, dict) or not addrs:
                x.err(f"{npath}: no addresses; allowed: a mapping network name -> IPv4 address")
                continue
            if node in x.nodes and x.nodes[node] != addrs:
                x.err(f"{npath}: listed again with other addresses than before; allowed: the same addresses in every group a host belongs to")
            for net, ip in addrs.items():
                apath = f"{npath}:{net}"
                if x.bad(apath) or not isinstance(ip, str):
                    continue
                if net not in x.C_networks:
                    x.err(f"{apath}: unknown network; allowed: {x.netlist()}")
                elif net in x.nets and not in_net(x, net, ip):
                    x.err(f"{apath}: {ip} is outside {net} {x.nets[net]['cidr']}; allowed: an address in {x.nets[net]['cidr']}")
                elif ip in x.addr_owner and x.addr_owner[ip] != node:
                    x.err(f"{apath}: duplicate address {ip} (also {x.addr_owner[ip]}); allowed: an address no other node has")
                else:
                    x.addr_owner[ip] = node
            if node not in x.nodes:
                x.nodes[node] = addrs
    for node in x.frontends + x.hypervisors:
        if isinstance(x.nodes.get(node), dict) and x.storage_net not in x.nodes[node]:
            group = "frontends" if node in x.frontends else "hypervisors"
            x.err(f"cluster:{group}:{node}: missing address on the storage network '{x.storage_net}'; "
                  f"allowed: an IPv4 address in {x.C_networks.get(x.storage_net, '?')}")


def rule_vips(x):
    for net, vip in x.vips.items():
        p = f"cluster:vips:{net}"
        if x.bad(p) or not isinstance(vip, str):
            continue
        if net not in x.nets:
            x.err(f"{p}: {vip} is outside every listed subnet (no network named '{net}'); allowed: {x.netlist()}")
        elif not in_net(x, net, vip):
            x.err(f"{p}: {vip} is outside {net} {x.nets[net]['cidr']}; allowed: an address in {x.nets[net]['cidr']}")
        elif vip in x.addr_owner:
            x.err(f"{p}: {vip} is already the address of {x.addr_owner[vip]}; allowed: an address of its own in {x.nets[net]['cidr']}")
        for node in x.frontends:
            if isinstance(x.nodes.get(node), dict) and net not in x.nodes[node]:
                x.err(f"cluster:frontends:{node}: missing address on network '{net}' that carries a VIP; allowed: an IPv4 address in {x.C_networks.get(net, '?')}")


def rule_stack(x):
    stack, n = x.stack, len(x.frontends)
    if stack in ("pacemaker", "rgmanager") and n < 2:
        x.err(f"cluster:frontends: the {stack} stack needs at least 2 front-ends, got {n}; allowed: 2 or more front-ends, or opennebula:ha:stack: none")
    elif stack == "raft" and n < 3:
        x.err(f"cluster:frontends: the raft stack needs at least 3 front-ends, got {n}; allowed: 3 or more (odd), or pacemaker/rgmanager for 2")
    elif stack == "none" and n != 1:
        x.err(f"cluster:frontends: opennebula:ha:stack none runs exactly 1 front-end, got {n}; allowed: pacemaker, rgmanager, raft for more")
    if stack == "rgmanager" and x.os_family != "RedHat":
        x.err(f"opennebula:ha:stack: rgmanager (cman, rgmanager, ccs, ricci) exists only on RedHat-family 6 systems, this minion is {x.os_family}; allowed: pacemaker, raft, none (on this minion)")
    if stack in ("pacemaker", "rgmanager") and not x.vips and not x.bad("cluster:vips"):
        x.err(f"cluster:vips: the {stack} stack needs at least one VIP; allowed: network name -> IPv4 address")
    if stack == "rgmanager" and len(x.vips) > 1:
        x.err(f"cluster:vips: {show(sorted(x.vips))} are {len(x.vips)} VIPs but rgmanager's service carries one IP resource (the lan VIP); allowed: one VIP under the rgmanager stack")


def rule_rgmanager(x):
    fx = mapping(mapping(mapping(x.ON.get("ha")).get("rgmanager")).get("fence_xvm"))
    if x.stack == "rgmanager" and fx.get("enabled") is True:
        if not fx.get("host"):
            x.err("opennebula:ha:rgmanager:fence_xvm:host: empty; allowed: the minion id of the physical host running the front-end VMs (it gets fence_virtd)")
        domains = mapping(fx.get("domains"))
        for fe in x.frontends:
            if fe not in domains:
                x.err(f"opennebula:ha:rgmanager:fence_xvm:domains: no libvirt domain for front-end {fe}; allowed: front-end minion id -> libvirt domain name")
        for fe in domains:
            if isinstance(fe, str) and fe not in x.frontends:
                x.err(f"opennebula:ha:rgmanager:fence_xvm:domains:{fe}: '{fe}' is not a front-end; allowed: {', '.join(x.frontends)}")


def rule_raft(x):
    raft = mapping(mapping(x.ON.get("ha")).get("raft"))
    pinned = mapping(raft.get("server_ids"))
    x.server_ids = {}
    for i, fe in enumerate(x.frontends):
        x.server_ids[fe] = pinned.get(fe, i)
    if x.stack == "raft":
        if len(set(map(str, x.server_ids.values()))) != len(x.frontends):
            x.err("opennebula:ha:raft:server_ids: duplicate SERVER_ID; allowed: one distinct integer per front-end")
        for fe in pinned:
            if isinstance(fe, str) and fe not in x.frontends:
                x.err(f"opennebula:ha:raft:server_ids:{fe}: '{fe}' is not a front-end; allowed: {', '.join(x.frontends)}")
        for net in mapping(raft.get("vip_interfaces")):
            if isinstance(net, str) and net not in x.vips:
                x.err(f"opennebula:ha:raft:vip_interfaces:{net}: no VIP on '{net}'; allowed: a network of cluster:vips: {', '.join(x.vips)}")


def rule_db(x):
    db = mapping(x.ON.get("db"))
    backend, repl, n = db.get("backend"), db.get("replication"), len(x.frontends)
    if backend == "sqlite" and n > 1:
        x.err(f"opennebula:db:backend: sqlite serves a single front-end only, got {n}; allowed: mysql, mariadb")
    if repl == "master-master":
        if backend == "sqlite":
            x.err("opennebula:db:replication: master-master needs mysql or mariadb; allowed: none with sqlite")
        elif n != 2:
            x.err(f"opennebula:db:replication: master-master pairs exactly 2 front-ends, got {n}; allowed: none")


def rule_proxy(x):
    proxy = mapping(x.ON.get("proxy"))
    port, http_port = proxy.get("port"), proxy.get("http_port")
    if (proxy.get("http") == "redirect" and port == http_port and not x.bad("opennebula:proxy:port")
            and not x.bad("opennebula:proxy:http_port")):
        x.err(f"opennebula:proxy:http_port: {show(http_port)} is the TLS port too; allowed: a port other than opennebula:proxy:port")
    if proxy.get("backend_port") == port and port is not None and proxy.get("backend_host") in (None, "127.0.0.1", "localhost"):
        x.err(f"opennebula:proxy:backend_port: {show(port)} is the TLS port of the proxy too; allowed: the port Sunstone/FireEdge listens on (e.g. 9869)")
    if proxy.get("self_signed") is False:
        for k in ["cert_pillar", "key_pillar"]:
            if proxy.get(k) == "":
                x.err(f"opennebula:proxy:{k}: '' with self_signed: false; allowed: the pillar key of the PEM {k[:-7]}")


def rule_oneadmin(x):
    oa = mapping(x.ON.get("oneadmin"))
    home, ds = oa.get("home"), x.ST.get("datastores_path")
    if isinstance(home, str) and isinstance(ds, str) and not x.bad("opennebula:oneadmin:home"):
        if ds.rstrip("/") == home.rstrip("/"):
            x.err(f"storage:datastores_path: {show(ds)} is oneadmin's home itself (the shared mount would hide ~/.ssh and ~/.one); allowed: a directory below it, e.g. {home.rstrip('/')}/datastores")


def rule_nfs(x):
    nf = mapping(x.ST.get("nfs"))
    if x.variant != "nfs":
        return
    server = x.nfs_server
    if server == "frontends":
        x.err("storage:nfs:server: 'frontends' would export a directory nothing replicates; allowed: a minion id (e.g. from cluster:storage_servers), or storage:variant drbd_aoe_lvm for HA NFS from DRBD on the front-ends (the Pacemaker/DRBD guide)")
    elif not x.bad("storage:nfs:server") and server not in x.nodes:
        x.err(f"storage:nfs:server: {show(server)} is not a node of cluster:*; allowed: {x.nodelist()}")
    net = nf.get("network")
    if isinstance(net, str) and not x.bad("storage:nfs:network"):
        if net not in x.nets:
            x.err(f"storage:nfs:network: unknown network '{net}'; allowed: {x.netlist()}")
        elif server == "frontends" and net not in x.vips:
            x.err(f"storage:nfs:network: HA NFS on the front-ends is reached through the VIP of '{net}', but cluster:vips has none; allowed: a network with a VIP: {', '.join(x.vips)}")
        elif server != "frontends" and isinstance(x.nodes.get(server), dict) and net not in x.nodes[server]:
            x.err(f"storage:nfs:network: the NFS server {server} has no address on '{net}'; allowed: {', '.join(x.nodes[server])}")
    opts = nf.get("export_options")
    if isinstance(opts, str) and not x.bad("storage:nfs:export_options"):
        for opt in opts.split(","):
            if opt.split("=")[0] in ("anonuid", "anongid"):
                x.err(f"storage:nfs:export_options: '{opt}' is set from opennebula:oneadmin uid/gid; allowed: the other exports(5) options, e.g. rw,async,no_root_squash,insecure,no_subtree_check")
            elif not re.fullmatch(r"^[a-z_]+(=[A-Za-z0-9:@._/-]+)?$", opt):
                x.err(f"storage:nfs:export_options: '{opt}' is not an exports(5) option; allowed: comma-separated options, no spaces")


def rule_moosefs(x):
    for i, hdd in enumerate(strs(mapping(x.ST.get("moosefs")).get("hdds"))):
        if x.bad(f"storage:moosefs:hdds[{i}]"):
            continue
        d = hdd.lstrip("*<>~").split(" ")[0].rstrip("/") or "/"
        if d in SYSTEM_DIRS:
            what = "is the root directory" if d == "/" else "is a system directory"
            x.err(f"storage:moosefs:hdds[{i}]: {show(hdd)} {what} (a chunkserver fills it); allowed: a directory of its own, e.g. /srv/mfs/chunks")
    if x.variant != "moosefs":
        return
    if x.mfs_master not in x.frontends:
        x.err(f"storage:moosefs:master: {show(x.mfs_master)} is not a front-end; allowed: {', '.join(x.frontends)}")
    for i, cs in enumerate(x.chunkservers):
        if cs not in x.nodes:
            x.err(f"storage:moosefs:chunkservers[{i}]: {show(cs)} is not a node of cluster:*; allowed: {x.nodelist()}")
    if len(set(x.chunkservers)) != len(x.chunkservers):
        x.err(f"storage:moosefs:chunkservers: {show(x.chunkservers)} lists a node twice; allowed: each chunkserver once")
    goal = mapping(x.ST.get("moosefs")).get("goal")
    n = len(x.chunkservers)
    if isinstance(goal, int) and not x.bad("storage:moosefs:goal") and goal > n:
        x.err(f"storage:moosefs:goal: {goal} copies cannot be kept on {n} chunkservers; allowed: 1..{n}")


def rule_linstor(x):
    if x.variant != "linstor":
        return
    ls = mapping(x.ST.get("linstor"))
    if x.linstor_controller not in x.frontends:
        x.err(f"storage:linstor:controller: {show(x.linstor_controller)} is not a front-end; allowed: {', '.join(x.frontends)}")
    pools = mapping(ls.get("pools"))
    if not pools and not x.bad("storage:linstor:pools"):
        x.err("storage:linstor:pools: no storage pool defined; allowed: name -> {driver, driver_pool}")
    for pname, pool in pools.items():
        for i, node in enumerate(strs(mapping(pool).get("nodes"))):
            if node not in x.satellites:
                x.err(f"storage:linstor:pools:{pname}:nodes[{i}]: {show(node)} is not a LINSTOR node; allowed: {', '.join(x.satellites)}")
    rg_pool = ls.get("resource_group_storage_pool")
    for p in ([rg_pool] if isinstance(rg_pool, str) and rg_pool else strs(rg_pool)):
        if p not in pools:
            x.err(f"storage:linstor:resource_group_storage_pool: {show(p)} is not a pool of storage:linstor:pools; allowed: {', '.join(sorted(map(str, pools)))}")
    pc = ls.get("place_count")
    n = len(x.satellites)
    if isinstance(pc, int) and not isinstance(pc, bool) and not x.bad("storage:linstor:place_count") and pc > n:
        x.err(f"storage:linstor:place_count: {pc} replicas on {n} satellites; allowed: 1..{n}")
    for minion in mapping(ls.get("node_names")):
        if isinstance(minion, str) and minion not in x.satellites:
            x.err(f"storage:linstor:node_names:{minion}: {show(minion)} is not a LINSTOR node; allowed: {', '.join(x.satellites)}")
    reg = mapping(x.ON.get("register"))
    for role, pool in x.linstor_ds_pools.items():
        k = f"linstor_{role}_pool"
        if not pools or x.bad(f"opennebula:register:{k}") or pool in pools:
            continue
        given = reg.get(k)
        what = show(pool) if given else f"{show(given or '')} (the default {show(pool)})"
        x.err(f"opennebula:register:{k}: {what} is not a pool of storage:linstor:pools; allowed: {', '.join(sorted(map(str, pools)))}")


def rule_drbd(x):
    dr = x.DR
    resources = mapping(dr.get("resources"))
    syntax = dr.get("syntax")
    if x.variant == "drbd_aoe_lvm":
        if x.stack != "pacemaker":
            x.err("storage:variant: drbd_aoe_lvm (the Pacemaker/DRBD guide) needs Pacemaker to promote DRBD and move the group; allowed: opennebula:ha:stack pacemaker")
        n = len(x.frontends)
        if syntax == "8.4" and n != 2:
            x.err(f"drbd:syntax: DRBD 8.4 replicates between exactly 2 nodes, got {n} front-ends; allowed: 2 front-ends, or syntax '9' (drbd-dkms) for more")
        if syntax == "9" and n > 32:
            x.err(f"cluster:frontends: DRBD 9 node-id runs 0..31, {n} front-ends would need node-id {n - 1}; allowed: at most 32 front-ends")
        if x.initial_primary not in x.frontends:
            x.err(f"drbd:initial_primary: {show(x.initial_primary)} is not a front-end; allowed: {', '.join(x.frontends)}")
        dal = mapping(x.ST.get("drbd_aoe_lvm"))
        for key in ["one_disk", "data_disk"]:
            if not x.bad(f"storage:drbd_aoe_lvm:{key}") and dal.get(key) not in resources:
                x.err(f"storage:drbd_aoe_lvm:{key}: {show(dal.get(key))} is not a resource in drbd:resources; allowed: {', '.join(map(str, resources))}")
        if dal.get("one_disk") == dal.get("data_disk") and dal.get("one_disk") in resources:
            x.err(f"storage:drbd_aoe_lvm:data_disk: {show(dal.get('data_disk'))} is one_disk too (mkfs and pvcreate on one device); allowed: a second resource of drbd:resources")
        net = dr.get("network")
        if isinstance(net, str) and not x.bad("drbd:network") and net not in x.nets:
            x.err(f"drbd:network: unknown network '{net}'; allowed: {x.netlist()}")
        elif isinstance(net, str):
            for fe in x.frontends:
                if isinstance(x.nodes.get(fe), dict) and net in x.nets and net not in x.nodes[fe]:
                    x.err(f"cluster:frontends:{fe}: missing address on the DRBD network '{net}'; allowed: an IPv4 address in {x.C_networks.get(net, '?')}")
        for node in x.frontends:
            if node in x.hypervisors:
                x.err(f"cluster:hypervisors:{node}: is a front-end too, but under drbd_aoe_lvm a front-end is the AoE target of the data disk and cannot be its own initiator; allowed: hypervisors that are not front-ends")
    if x.variant == "drbd_aoe_lvm" and syntax == "8.4":
        for where, sect in [("drbd:common", mapping(dr.get("common")))] + [
                (f"drbd:resources:{r}", mapping(v)) for r, v in resources.items()]:
            for k in ["quorum", "on_no_quorum"]:
                if sect.get(k) is not None and not x.bad(f"{where}:{k}"):
                    x.err(f"{where}:{k}: {show(sect[k])} is DRBD 9 only; allowed: no {k} with drbd:syntax '8.4', or syntax '9'")
    for minion in mapping(dr.get("node_names")):
        if isinstance(minion, str) and minion not in x.frontends and x.variant == "drbd_aoe_lvm":
            x.err(f"drbd:node_names:{minion}: {show(minion)} is not a front-end (DRBD peers are the front-ends); allowed: {', '.join(x.frontends)}")
    minors, ports, metas = {}, {}, {}
    for rname, res in resources.items():
        rpath = f"drbd:resources:{rname}"
        if not isinstance(res, dict):
            continue
        m = res.get("minor")
        if isinstance(m, int) and not x.bad(f"{rpath}:minor"):
            if m in minors:
                x.err(f"{rpath}:minor: duplicate DRBD minor {m} (also {minors[m]}); allowed: one minor per resource")
            minors[m] = rname
        pt = res.get("port")
        if isinstance(pt, int) and not x.bad(f"{rpath}:port"):
            if pt in ports:
                x.err(f"{rpath}:port: duplicate DRBD port {pt} (also {ports[pt]}); allowed: one port per resource")
            ports[pt] = rname
        meta = res.get("meta_disk", "internal")
        if isinstance(meta, str) and meta != "internal" and not x.bad(f"{rpath}:meta_disk"):
            if meta in metas:
                x.err(f"{rpath}:meta_disk: {meta} is also the meta-disk of {metas[meta]} (their metadata would overwrite each other); allowed: a distinct index per resource")
            metas[meta] = rname
            if meta.split("[")[0] == res.get("disk"):
                x.err(f"{rpath}:meta_disk: {show(meta)} is the backing disk itself; allowed: internal, or another device")


def rule_pacemaker(x):
    if x.stack != "pacemaker":
        return
    pm = x.PM
    if x.ON.get("version") == "7.4" and not x.bad("opennebula:version"):
        for i, slot in enumerate(strs(pm.get("services"))):
            if slot == "sunstone" and not x.bad(f"pacemaker:services[{i}]"):
                x.err("pacemaker:services: 'sunstone' has no service in OpenNebula 7.4 (no Ruby "
                      "Sunstone: FireEdge is the web UI); allowed: opennebula, fireedge "
                      "(or opennebula:version '6.10')")
    cs = mapping(pm.get("corosync"))
    for i, ring in enumerate(strs(cs.get("rings"))):
        if x.bad(f"pacemaker:corosync:rings[{i}]"):
            continue
        if ring not in x.nets:
            x.err(f"pacemaker:corosync:rings: unknown network '{ring}'; allowed: {x.netlist()}")
        else:
            for fe in x.frontends:
                if isinstance(x.nodes.get(fe), dict) and ring not in x.nodes[fe]:
                    x.err(f"cluster:frontends:{fe}: missing address on corosync ring network '{ring}'; allowed: an IPv4 address in {x.C_networks.get(ring, '?')}")
    rings = strs(cs.get("rings"))
    if len(set(rings)) != len(rings):
        x.err(f"pacemaker:corosync:rings: {show(rings)} lists a network twice; allowed: each network once")
    nodeids = mapping(cs.get("nodeids"))
    for fe in nodeids:
        if isinstance(fe, str) and fe not in x.frontends:
            x.err(f"pacemaker:corosync:nodeids:{fe}: {show(fe)} is not a front-end; allowed: {', '.join(x.frontends)}")
    ids = [nodeids.get(fe, i + 1) for i, fe in enumerate(x.frontends)]
    if len(set(map(str, ids))) != len(ids):
        x.err(f"pacemaker:corosync:nodeids: node ids {', '.join(map(str, ids))} are not distinct; allowed: one distinct integer >= 1 per front-end")
    st = mapping(pm.get("stonith"))
    if st.get("enabled") is False and st.get("i_understand_no_fencing") is not True:
        x.err("pacemaker:stonith:enabled: false without pacemaker:stonith:i_understand_no_fencing: true; allowed: enabled with fence devices, or both flags set to accept split-brain risk")
    elif st.get("enabled") is True and not st.get("devices") and not x.bad("pacemaker:stonith:devices") \
            and mapping(st.get("sbd")).get("enabled") is not True:
        x.err("pacemaker:stonith:devices: stonith is enabled but no fence device is defined (Pacemaker would refuse to start any resource); allowed: name -> {agent, params}, pacemaker:stonith:sbd:enabled: true, or enabled: false with i_understand_no_fencing: true")
    nqp = mapping(pm.get("properties")).get("no-quorum-policy")
    if st.get("enabled") is True and len(x.frontends) == 2 and nqp == "ignore":
        x.err("pacemaker:properties:no-quorum-policy: 'ignore' with fencing on two front-ends: "
              "corosync's two_node keeps the survivor quorate, and a fenced node that reboots "
              "still cut off (wait_for_all: no quorum) would ignore that and fence its peer in "
              "turn (measured: a fencing loop); allowed: stop (the default), freeze, demote")
    for key, types in EXTRA_TYPES.items():
        for ename, spec in mapping(pm.get(key)).items():
            if isinstance(spec, dict):
                etype = str(spec.get("type", "")).replace("crm.", "")
                if etype not in types:
                    x.err(f"pacemaker:{key}:{ename}:type: {show(spec.get('type'))} is not a crm state for {key}; allowed: {', '.join(types)}")
    for net in mapping(pm.get("vip_nics")):
        if isinstance(net, str) and net not in x.vips:
            x.err(f"pacemaker:vip_nics:{net}: no VIP on '{net}'; allowed: a network of cluster:vips: {', '.join(x.vips)}")


def rule_sbd(x):
    """SBD (pacemaker:stonith:sbd) and what it needs: fencing on, one to three devices (disk)
    or none and three or more front-ends (watchdog-only: a two-node partition keeps quorum
    and would not self-fence), msgwait >= 2 x watchdog, stonith-watchdog-timeout >= 2 x
    watchdog; DRBD resource-and-stonith needs fencing on."""
    st = mapping(x.PM.get("stonith"))
    fencing = st.get("enabled") is True
    for where, sec in [("drbd:common", mapping(x.DR.get("common")))] + [
            (f"drbd:resources:{n}", mapping(r)) for n, r in mapping(x.DR.get("resources")).items()]:
        if sec.get("fencing") == "resource-and-stonith" and not fencing \
                and not x.bad(f"{where}:fencing"):
            x.err(f"{where}:fencing: 'resource-and-stonith' while pacemaker:stonith:enabled is "
                  "not true (DRBD would freeze I/O waiting for a fence that never comes); "
                  "allowed: resource-only or dont-care, or pacemaker:stonith:enabled: true")
    if x.stack == "pacemaker" and len(x.frontends) == 2 \
            and not x.bad("pacemaker:stonith:priority_fencing_delay") \
            and not x.bad("pacemaker:stonith:pcmk_delay_max"):
        pfd, dmax = st.get("priority_fencing_delay"), duration_s(st.get("pcmk_delay_max"))
        if pfd not in ("", None) and 0 < duration_s(pfd) < 2 * dmax:
            x.err(f"pacemaker:stonith:priority_fencing_delay: {show(pfd)} is less than twice "
                  f"pcmk_delay_max ({show(st.get('pcmk_delay_max'))}): the random delay could let "
                  f"the node without the resources lose the race anyway; allowed: '' (twice "
                  f"pcmk_delay_max), 0 (off) or a duration >= {2 * dmax}s")
    sbd = mapping(st.get("sbd"))
    if sbd.get("enabled") is not True or x.bad("pacemaker:stonith:sbd"):
        return
    p = "pacemaker:stonith:sbd"
    if x.stack != "pacemaker":
        x.err(f"{p}:enabled: true with opennebula:ha:stack {show(x.stack)}; allowed: "
              "opennebula:ha:stack pacemaker, or enabled: false")
    if not fencing:
        x.err(f"{p}:enabled: true while pacemaker:stonith:enabled is not true; allowed: "
              "pacemaker:stonith:enabled: true (i_understand_no_fencing: false), or sbd "
              "enabled: false")
    mode = sbd.get("mode", "disk")
    devices = sbd.get("devices") if isinstance(sbd.get("devices"), list) else []
    paths = [d.get("path") for d in devices if isinstance(d, dict)]
    wd, mw, swt = (sbd.get(k) for k in ("watchdog_timeout", "msgwait_timeout",
                                        "stonith_watchdog_timeout"))
    if mode == "disk":
        if not devices:
            x.err(f"{p}:devices: no SBD device with mode disk; allowed: one to three shared "
                  "block devices ({path: /dev/disk/by-id/...}), or mode: watchdog")
        if len(set(paths)) != len(paths):
            x.err(f"{p}:devices: {show(paths)} lists a device twice; allowed: each device once")
        if isinstance(wd, int) and isinstance(mw, int) and mw < 2 * wd:
            x.err(f"{p}:msgwait_timeout: {mw} is less than twice watchdog_timeout ({wd}): a "
                  f"fence could be reported done before the victim's watchdog fired; allowed: "
                  f"an integer >= {2 * wd}")
    elif mode == "watchdog":
        if devices:
            x.err(f"{p}:devices: {show(paths)} with mode watchdog (diskless SBD uses no "
                  "device); allowed: [] or mode: disk")
        if len(x.frontends) < 3:
            x.err(f"{p}:mode: 'watchdog' with {len(x.frontends)} front-ends: a two-node "
                  "cluster keeps quorum alone (corosync two_node) and would never self-fence; "
                  "allowed: mode disk with a shared device, or three or more front-ends")
        if isinstance(wd, int) and isinstance(swt, int) and swt and swt < 2 * wd:
            x.err(f"{p}:stonith_watchdog_timeout: {swt} is less than twice watchdog_timeout "
                  f"({wd}); allowed: 0 (twice watchdog_timeout) or an integer >= {2 * wd}")


def rule_hosts(x):
    C = x.C
    for net in mapping(C.get("network_domains")):
        if isinstance(net, str) and net not in x.C_networks:
            x.err(f"cluster:network_domains:{net}: unknown network; allowed: {x.netlist()}")
    sn = mapping(C.get("hosts")).get("short_names")
    if isinstance(sn, str) and sn and not x.bad("cluster:hosts:short_names") and sn not in x.nets:
        x.err(f"cluster:hosts:short_names: unknown network '{sn}'; allowed: {x.netlist()}")
    vn = C.get("vip_name")
    if isinstance(vn, str) and vn and vn in x.nodes:
        x.err(f"cluster:vip_name: {show(vn)} is the name of a node too; allowed: a name of its own")


def rule_bonds(x):
    for node, node_bonds in mapping(x.C.get("bonds")).items():
        bpath = f"cluster:bonds:{node}"
        if x.bad(bpath) and not isinstance(node_bonds, dict):
            continue
        if not isinstance(node, str):
            continue
        if node not in x.nodes:
            x.err(f"{bpath}: '{node}' is not a node of cluster:*; allowed: {x.nodelist()}")
            continue
        if not isinstance(node_bonds, dict) or not node_bonds:
            if not x.bad(bpath):
                x.err(f"{bpath}: must be a mapping bond name -> {{mode, slaves, network, ...}}; allowed: e.g. bond0: {{mode: balance-rr, slaves: [eth0, eth1], network: san}}")
            continue
        slave_owner, net_owner = {}, {}
        for bname, bond in node_bonds.items():
            p = f"{bpath}:{bname}"
            if not isinstance(bond, dict):
                continue
            for i, slave in enumerate(strs(bond.get("slaves"))):
                if slave in node_bonds:
                    x.err(f"{p}:slaves: '{slave}' is itself a bond of {node}; allowed: physical interfaces")
                elif slave in slave_owner:
                    x.err(f"{p}:slaves: '{slave}' listed twice (also in {slave_owner[slave]}); allowed: each interface in one bond, once")
                else:
                    slave_owner[slave] = bname
            bnet = bond.get("network")
            if not isinstance(bnet, str) or x.bad(f"{p}:network"):
                continue
            if bnet not in x.nets:
                x.err(f"{p}:network: unknown network '{bnet}'; allowed: {x.netlist()}")
            elif bnet not in x.nodes[node]:
                x.err(f"{p}:network: {node} has no address on '{bnet}' in cluster:*; allowed: {', '.join(x.nodes[node])}")
            elif bnet in net_owner:
                x.err(f"{p}:network: duplicate address {x.nodes[node][bnet]} (also {net_owner[bnet]} on {bnet}); allowed: one bond per network and node")
            else:
                net_owner[bnet] = bname


def rule_register(x):
    names = DATASTORES.get(x.variant, {})
    for name, tmpl in mapping(mapping(x.ON.get("register")).get("datastore_templates")).items():
        p = f"opennebula:register:datastore_templates:{name}"
        if not isinstance(name, str) or x.bad(p) and not isinstance(tmpl, dict):
            continue
        if name not in names:
            x.err(f"{p}: {show(name)} is not a datastore of the {x.variant} variant; allowed: {', '.join(sorted(names))}")
            continue
        tm = mapping(tmpl).get("TM_MAD")
        if tm is not None and tm not in names[name]:
            x.err(f"{p}:TM_MAD: {show(tm)} does not match storage:variant {x.variant}; allowed: {', '.join(names[name])}")


def rule_secrets(x):
    on, pm, db = x.ON, x.PM, mapping(x.ON.get("db"))
    oa, ha = mapping(on.get("oneadmin")), mapping(on.get("ha"))
    rg = mapping(ha.get("rgmanager"))
    refs = {"one_auth": on.get("one_auth_pillar"), "oneadmin_ssh_private_key": oa.get("ssh_private_key_pillar")}
    if x.stack == "pacemaker":
        refs["corosync_authkey"] = pm.get("authkey_pillar")
    if x.stack == "rgmanager":
        refs["ricci_password"] = rg.get("ricci_password_pillar")
        fx = mapping(rg.get("fence_xvm"))
        if fx.get("enabled") is True:
            refs["fence_xvm_key"] = fx.get("key_pillar")
    if x.stack == "raft":
        # FireEdge behind the VIP the raft leader hook moves: the same key on every front-end
        refs["fireedge_key"] = on.get("fireedge_key_pillar")
    if db.get("backend") != "sqlite":
        refs["one_db_password"] = db.get("password_pillar")
    if db.get("replication") == "master-master":
        refs["db_replication_password"] = db.get("replication_password_pillar")
    proxy = mapping(on.get("proxy"))
    if proxy.get("self_signed") is False:
        refs["proxy_cert"] = proxy.get("cert_pillar")
        refs["proxy_key"] = proxy.get("key_pillar")
    if x.stack == "pacemaker":
        for dname, dev in mapping(mapping(pm.get("stonith")).get("devices")).items():
            if isinstance(dev, dict) and dev.get("password_pillar"):
                refs[f"stonith_{dname}"] = dev["password_pillar"]
    x.secret_refs = refs
    ref = refs.get("corosync_authkey")
    if x.stack == "pacemaker" and isinstance(ref, str) and ref:
        value = traverse(x.pillar, ref, "")
        authkey = re.sub(r"\s", "", str(value or ""))
        if authkey and "CHANGE_ME" not in authkey and (not re.fullmatch(r"^[A-Za-z0-9+/]+={0,2}$", authkey) or len(authkey) < 172):
            x.err(f"{ref}: the corosync authkey must be base64 of at least 128 bytes (corosync/knet refuses shorter keys); allowed: e.g. the output of `head -c 256 /dev/urandom | base64 -w0`")
    ref = refs.get("fireedge_key")
    if isinstance(ref, str) and re.fullmatch(PILLAR_KEY_RE, ref):
        value = traverse(x.pillar, ref, "")
        if (isinstance(value, str) and value and "CHANGE_ME" not in value
                and str(value).lower() not in PLACEHOLDERS and len(value) != 32):
            x.err(f"{ref}: the FireEdge key is {len(value)} characters; allowed: exactly 32 (its AES-256 key), e.g. the output of `openssl rand -hex 16`")
    for sname in sorted(refs):
        ref = refs[sname]
        if not isinstance(ref, str) or not re.fullmatch(PILLAR_KEY_RE, ref):
            continue  # the schema reports the bad pillar key itself
        value = traverse(x.pillar, ref, "")
        if value in (None, ""):
            x.err(f"{ref}: secret '{sname}' is missing; allowed: a value in pillar at that key (ideally from a GPG-encrypted pillar file)")
        elif not isinstance(value, (str, int)) or isinstance(value, bool):
            x.err(f"{ref}: secret '{sname}' is {type_name(value)}; allowed: a string")
        elif "CHANGE_ME" in str(value) or str(value).lower() in PLACEHOLDERS:
            x.err(f"{ref}: secret '{sname}' is still the example placeholder; allowed: a real secret from your own pillar")


RULES = [rule_networks, rule_nodes, rule_vips, rule_stack, rule_rgmanager, rule_raft, rule_db,
         rule_proxy, rule_oneadmin, rule_nfs, rule_moosefs, rule_linstor, rule_drbd,
         rule_pacemaker, rule_sbd, rule_hosts, rule_bonds, rule_register, rule_secrets]


def derive(x):
    """The facts the rules and the model need, read defensively (the schema reports bad types)."""
    S = x.S
    x.C, x.ON, x.ST, x.DR, x.PM = (mapping(S[k]) for k in COMPONENTS)
    C = x.C
    x.C_networks = {k: v for k, v in mapping(C.get("networks")).items() if isinstance(k, str)}
    sn = C.get("storage_network", "san")
    x.storage_net = sn if isinstance(sn, str) else "san"
    x.groups = {g: {k: v for k, v in mapping(C.get(g)).items() if isinstance(k, str)}
                for g in ["frontends", "hypervisors", "storage_servers"]}
    x.frontends = sorted(x.groups["frontends"])
    x.hypervisors = sorted(x.groups["hypervisors"])
    x.storage_servers = sorted(x.groups["storage_servers"])
    x.vips = {k: v for k, v in mapping(C.get("vips")).items() if isinstance(k, str)}
    stack = mapping(x.ON.get("ha")).get("stack")
    x.stack = stack if isinstance(stack, str) else str(stack)
    variant = x.ST.get("variant")
    x.variant = variant if isinstance(variant, str) else str(variant)
    first = x.frontends[0] if x.frontends else ""
    x.nfs_server = mapping(x.ST.get("nfs")).get("server")
    mfs = mapping(x.ST.get("moosefs"))
    x.mfs_master = mfs.get("master") or first
    x.chunkservers = strs(mfs.get("chunkservers")) or list(x.hypervisors)
    x.linstor_controller = mapping(x.ST.get("linstor")).get("controller") or first
    x.satellites = list(dict.fromkeys(x.frontends + x.hypervisors + x.storage_servers))
    # the LINSTOR storage pool of each linstor datastore (storage/linstor/datastores.yaml):
    # opennebula:register:linstor_<role>_pool, '' meaning the default of settings.yaml
    reg = mapping(x.ON.get("register"))
    reg_defaults = mapping(mapping(x.defaults.get("opennebula")).get("register"))
    x.linstor_ds_pools = {}
    for role in ("system", "image"):
        k = f"linstor_{role}_pool"
        v = reg.get(k) or reg_defaults.get(k)
        x.linstor_ds_pools[role] = v if isinstance(v, str) else ""
    x.initial_primary = x.DR.get("initial_primary") or first
    x.first = first


def build(pillar, grains, defaults):
    """Validate `pillar` (merged on `defaults`, common/settings.yaml) for the minion
    in `grains` and return the model, or {"errors": [message, ...]}."""
    pillar = pillar if isinstance(pillar, dict) else {}
    grains = grains if isinstance(grains, dict) else {}
    defaults = defaults if isinstance(defaults, dict) else {}
    x = Ctx(pillar, grains, defaults)
    x.ck.check(SCHEMA, {k: x.S[k] for k in COMPONENTS}, "")
    derive(x)
    for rule in RULES:
        rule(x)
    if x.ck.errors:
        return {"errors": x.ck.errors, "id": x.minion_id}
    mid = x.minion_id
    is_frontend = mid in x.frontends
    is_hypervisor = mid in x.hypervisors
    metaloggers = [fe for fe in x.frontends if fe != x.mfs_master]
    v = x.variant
    is_storage_server = bool(
        (v == "nfs" and ((x.nfs_server == "frontends" and is_frontend) or x.nfs_server == mid))
        or (v == "drbd_aoe_lvm" and is_frontend)
        or (v == "moosefs" and (mid == x.mfs_master or mid in metaloggers or mid in x.chunkservers))
        or (v == "linstor" and mid in x.satellites))
    st = mapping(x.PM.get("stonith"))
    sbd_on = bool(x.stack == "pacemaker" and st.get("enabled") is True
                  and mapping(st.get("sbd")).get("enabled") is True)
    fence_props, fence_rsc = fencing_defaults(x, sbd_on)
    roles = [r for r, on in [("frontend", is_frontend), ("hypervisor", is_hypervisor),
                             ("storage_server", is_storage_server)] if on]
    return {
        "id": mid,
        "os_family": x.os_family,
        "settings": x.S,
        "stack": x.stack,
        "variant": v,
        "frontends": x.frontends,
        "hypervisors": x.hypervisors,
        "storage_servers": x.storage_servers,
        "nodes": x.nodes,
        "networks": x.nets,
        "storage_network": x.storage_net,
        "first_frontend": x.first,
        "roles": roles,
        "is_frontend": is_frontend,
        "is_hypervisor": is_hypervisor,
        "is_storage_server": is_storage_server,
        "initial_primary": x.initial_primary,
        "raft_server_ids": x.server_ids,
        "nfs_server": x.nfs_server,
        "moosefs_master": x.mfs_master,
        "moosefs_metaloggers": metaloggers,
        "chunkservers": x.chunkservers,
        "linstor_controller": x.linstor_controller,
        "linstor_satellites": x.satellites,
        "linstor_datastore_pools": x.linstor_ds_pools,
        "linstor_controllers": linstor_controllers(x),
        "secret_refs": x.secret_refs,
        # pillar <component>:lookup (OS-level overrides) and :tofs, for the map files/libtofs
        "lookup": {k: mapping(mapping(x.S[k]).get("lookup")) for k in COMPONENTS[1:]},
        "tofs": {k: mapping(mapping(x.S[k]).get("tofs")) for k in COMPONENTS[1:]},
        "drbd_node_names": {k: v for k, v in mapping(x.DR.get("node_names")).items()},
        # DRBD's default fencing policy: the Pacemaker/DRBD guide's variant with SBD fencing
        # on gets resource-and-stonith (+ crm-fence-peer handlers); '' = no fencing section
        "drbd_fencing": "resource-and-stonith" if sbd_on and v == "drbd_aoe_lvm" else "",
        "sbd_enabled": sbd_on,
        # cluster properties / rsc_defaults the formula adds with fencing on (pillar wins)
        "fencing_properties": fence_props,
        "fencing_rsc_defaults": fence_rsc,
        "drbd_global": merge({"usage_count": "no", "disable_ip_verification": False,
                              "udev_always_use_vnr": False, "options": {}},
                             mapping(x.DR.get("global"))),
    }


def duration_s(value):
    """A Pacemaker duration (DURATION_RE: 15, 15s, 500ms, 2m, 2min, 1h) -> whole seconds,
    rounded up; '' / None / anything else -> 0."""
    m = re.match(DURATION_RE, str(value if value is not None else ""))
    if not m or value in ("", None) or isinstance(value, bool):
        return 0
    num = int(re.match(r"[0-9]+", str(value)).group(0))
    unit = m.group(1) or "s"
    if unit == "ms":
        return -(-num // 1000)
    return num * {"s": 1, "m": 60, "min": 60, "h": 3600}[unit]


def fencing_defaults(x, sbd_on):
    """Cluster properties and resource defaults the formula adds when fencing is on (the
    pillar's pacemaker:properties / rsc_defaults win over each of them):
    * two front-ends: priority-fencing-delay (pacemaker:stonith:priority_fencing_delay; ''
      = twice pcmk_delay_max, 15s without one; 0 = none) with every resource's priority 1,
      so that in a split the node running the resources (and the promoted DRBD) fences
      first and keeps them, the other is fenced;
    * SBD on a shared disk: stonith-timeout long enough for fence_sbd: msgwait + 20 % plus
      the fencing delays above (at least Pacemaker's 60 s), plus token + consensus."""
    st = mapping(x.PM.get("stonith"))
    props, rsc = {}, {}
    if x.stack != "pacemaker" or st.get("enabled") is not True:
        return props, rsc
    dmax = pfd = 0
    if len(x.frontends) == 2:
        dmax = duration_s(st.get("pcmk_delay_max"))
        given = st.get("priority_fencing_delay")
        pfd = (2 * dmax or 15) if given in ("", None) else duration_s(given)
        if pfd:
            props["priority-fencing-delay"] = f"{pfd}s"
            rsc["priority"] = 1
    sbd = mapping(st.get("sbd"))
    if sbd_on and sbd.get("mode", "disk") == "disk" and isinstance(sbd.get("msgwait_timeout"), int):
        # Pacemaker before 2.1.6 (Debian 12: 2.1.5) counts the fencing delays against the
        # timeout; the new membership (token + consensus = 2.2 x token) must form before the
        # fence is acknowledged (crmsh's bootstrap does the same sum)
        token = mapping(x.PM.get("corosync")).get("token")
        membership = -(-int(token) * 22 // 10000) if isinstance(token, int) and not isinstance(token, bool) else 0
        props["stonith-timeout"] = f"{max(60, -(-sbd['msgwait_timeout'] * 6 // 5) + dmax + pfd) + membership}s"
    return props, rsc


def linstor_controllers(x):
    """The LINSTOR controller URI(s), comma-separated, every LINSTOR client of the formula uses
    (the linstor states, linstor-client.conf, the datastores' LINSTOR_CONTROLLERS):
    storage:linstor:controllers (string or list), else under stack pacemaker
    linstor://<storage VIP> (the controller moves with the VIPs) or, without a storage VIP,
    every front-end's storage address (clients try them in order); otherwise
    linstor://<the controller's storage address>."""
    given = mapping(x.ST.get("linstor")).get("controllers") or ""
    if not isinstance(given, str):
        return ",".join(strs(given))
    if given:
        return given
    san = x.storage_net
    if x.stack == "pacemaker" and x.vips.get(san):
        return f"linstor://{x.vips[san]}"
    if x.stack == "pacemaker":
        return ",".join(f"linstor://{mapping(x.nodes.get(fe)).get(san)}" for fe in x.frontends)
    return "linstor://" + str(mapping(x.nodes.get(x.linstor_controller)).get(san, "localhost"))


def run():
    """Salt `py` renderer entry: pillar_in/grains_in/defaults_in are set as module globals by
    salt.utils.templates.py from slsutil.renderer's keyword arguments."""
    g = globals()
    return build(g.get("pillar_in") or {}, g.get("grains_in") or {}, g.get("defaults_in") or {})
