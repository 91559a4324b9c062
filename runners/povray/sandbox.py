"""Runs a program confined by Landlock (Linux >= 5.13): it may read and execute
only below the --read paths, and read and write only below the --write paths;
every other file open, TCP bind or connect (Linux >= 6.7) fails with EACCES.

    python3 sandbox.py --read /usr/lib --read /etc/povray --write JOBDIR -- povray ...

Why: POV-Ray 3.7's own file I/O restriction (povray.conf) does not hold on
Debian 12's build (docs/kinds.md "POV-Ray" shows why and how it was checked),
so the povray runner confines the process itself. The confinement is inherited
by everything the program starts and cannot be lifted from inside.

Exit status 3 and a message on stderr when Landlock is not available (an old
kernel, or landlock left out of the kernel's `lsm=` list); `abi()` lets a
caller find out beforehand. Python 3.11 standard library only (ctypes).
"""
import ctypes
import errno
import os
import sys

# System call numbers: the same on every architecture (the generic table).
_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# Filesystem access rights, by the ABI version that introduced them.
_EXECUTE = 1 << 0
_WRITE_FILE = 1 << 1
_READ_FILE = 1 << 2
_READ_DIR = 1 << 3
_ABI1_ALL = (1 << 13) - 1          # execute .. make_sym
_REFER = 1 << 13                   # ABI 2
_TRUNCATE = 1 << 14                # ABI 3
_IOCTL_DEV = 1 << 15               # ABI 5
_FILE_ONLY = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1                  # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1       # ABI 6

EXIT_UNAVAILABLE = 3


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64),
                ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall(*args):
    result = _libc.syscall(*args)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def abi():
    """The kernel's Landlock ABI version; 0 when Landlock is unavailable."""
    try:
        return _syscall(ctypes.c_long(_SYS_CREATE_RULESET), None, ctypes.c_size_t(0),
                        ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except OSError as e:
        if e.errno in (errno.ENOSYS, errno.EOPNOTSUPP):
            return 0
        raise


def _handled_fs(version):
    rights = _ABI1_ALL
    if version >= 2:
        rights |= _REFER
    if version >= 3:
        rights |= _TRUNCATE
    if version >= 5:
        rights |= _IOCTL_DEV
    return rights


def confine(read_paths, write_paths):
    """Confines this process (and what it executes) to the given paths.
    Missing --read paths are skipped; a missing --write path is an error."""
    version = abi()
    if version < 1:
        raise OSError(errno.EOPNOTSUPP, "Landlock is not available in this kernel")
    handled = _handled_fs(version)
    attr = _RulesetAttr(handled_access_fs=handled)
    size = 8  # ABI 1-3 know handled_access_fs only
    if version >= 4:
        attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP
        size = 16
    if version >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL
        size = 24
    ruleset = _syscall(ctypes.c_long(_SYS_CREATE_RULESET), ctypes.byref(attr),
                       ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        read_rights = _EXECUTE | _READ_FILE | _READ_DIR
        for path, rights in ([(p, read_rights) for p in read_paths]
                             + [(p, handled) for p in write_paths]):
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                if rights == read_rights:
                    continue
                raise
            try:
                if not os.path.isdir(path):
                    rights &= _FILE_ONLY
                rule = _PathBeneathAttr(allowed_access=rights & handled, parent_fd=fd)
                _syscall(ctypes.c_long(_SYS_ADD_RULE), ctypes.c_int(ruleset),
                         ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0))
            finally:
                os.close(fd)
        # Required before restricting oneself without CAP_SYS_ADMIN; also
        # keeps set-user-id programs from running with more rights.
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), ctypes.c_ulong(0),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "prctl(PR_SET_NO_NEW_PRIVS): " + os.strerror(err))
        _syscall(ctypes.c_long(_SYS_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return version


def main(argv):
    read_paths, write_paths = [], []
    args = list(argv)
    while args and args[0] != "--":
        flag = args.pop(0)
        if flag not in ("--read", "--write") or not args:
            print("usage: sandbox.py [--read PATH]... [--write PATH]... -- PROGRAM [ARG]...",
                  file=sys.stderr)
            return 2
        (read_paths if flag == "--read" else write_paths).append(args.pop(0))
    if len(args) < 2:
        print("sandbox.py: no program after --", file=sys.stderr)
        return 2
    program = args[1:]
    try:
        confine(read_paths, write_paths)
    except OSError as e:
        print("sandbox.py: cannot confine %s: %s" % (program[0], e), file=sys.stderr)
        return EXIT_UNAVAILABLE if e.errno in (errno.EOPNOTSUPP, errno.ENOSYS) else 1
    os.execv(program[0], program)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
