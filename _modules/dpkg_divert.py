"""dpkg diversions (``dpkg-divert --listpackage``), an argument list, no shell."""
import salt.utils.path

__virtualname__ = "dpkg_divert"


def __virtual__():
    if salt.utils.path.which("dpkg-divert"):
        return __virtualname__
    return (False, "dpkg_divert: dpkg-divert (dpkg) is not on PATH")


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def listpackage(path, admindir=None):
    """Who diverts ``path``: ``"LOCAL"`` (a local diversion), the diverting package's name, or
    None when it is not diverted.

    CLI Example: ``salt-call dpkg_divert.listpackage /usr/share/initramfs-tools/hooks/aoe``
    """
    argv = ["dpkg-divert"]
    if admindir:
        argv.append("--admindir=" + str(admindir))
    argv += ["--listpackage", str(path)]
    res = _u("ohaf_cmd.run")(__salt__["cmd.run_all"], argv,
                             what=f"dpkg-divert --listpackage {path}")
    out = (res.get("stdout") or "").strip()
    return out or None


def is_local(path, admindir=None):
    """True when ``path`` has a local diversion (``dpkg-divert --listpackage`` says LOCAL).

    CLI Example: ``salt-call dpkg_divert.is_local /usr/share/initramfs-tools/hooks/aoe``
    """
    return listpackage(path, admindir=admindir) == "LOCAL"
