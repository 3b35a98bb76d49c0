"""Kernel-level confinement of a mechanism process, applied by the process to
itself after it has imported everything it will ever need and before any
untrusted code runs.

Two layers, each used where the kernel and the machine offer it:

* **Landlock** (Linux 5.13+): no file-system access at all (no open, read,
  write, create, execute of any path: descriptors opened before, such as the
  pipes, keep working); with ABI 4+ no TCP bind or connect; with ABI 6+ no
  signals to processes outside the process and no abstract unix sockets.
  ``/proc/<parent>/environ``, the parent's files and every binary are out of
  reach even for code that escaped the restricted environment.
* **seccomp** (through libseccomp's ``pyseccomp`` binding): system calls that
  start programs or processes, open sockets, trace or read other processes'
  memory, or change namespaces fail with ``EPERM``.

Both need ``PR_SET_NO_NEW_PRIVS``, which is set first. What was applied is
returned as text and reported by the process in its ``load`` reply, so a
machine without either layer is visible, never silent.
"""

from __future__ import annotations

import ctypes
import errno
import os

__all__ = ["confine", "DENIED_SYSCALLS"]

_PR_SET_NO_NEW_PRIVS = 38
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # same numbers on x86-64 and arm64
_CREATE_RULESET_VERSION = 1

# LANDLOCK_ACCESS_FS_* rights by the ABI that introduced them.
_FS_RIGHTS = {1: (1 << 13) - 1, 2: 1 << 13, 3: 1 << 14, 5: 1 << 15}  # v1: EXECUTE..MAKE_SYM; REFER; TRUNCATE; IOCTL_DEV
_NET_ALL = (1 << 0) | (1 << 1)  # BIND_TCP, CONNECT_TCP (ABI 4)
_SCOPE_ALL = (1 << 0) | (1 << 1)  # ABSTRACT_UNIX_SOCKET, SIGNAL (ABI 6)

DENIED_SYSCALLS = (
    "execve", "execveat", "fork", "vfork", "clone", "clone3", "socket", "socketpair", "connect", "bind",
    "listen", "accept", "accept4", "ptrace", "process_vm_readv", "process_vm_writev", "kill", "tkill",
    "tgkill", "mount", "umount2", "unshare", "setns", "chroot", "pivot_root", "keyctl", "add_key",
    "request_key", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "memfd_create",
)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


def _landlock(libc: ctypes.CDLL) -> str:
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    if abi < 1:
        return f"landlock unavailable ({os.strerror(ctypes.get_errno())})"
    attr = _RulesetAttr(sum(bits for version, bits in _FS_RIGHTS.items() if version <= abi),
                        _NET_ALL if abi >= 4 else 0, _SCOPE_ALL if abi >= 6 else 0)
    size = ctypes.sizeof(ctypes.c_uint64) * (3 if abi >= 6 else 2 if abi >= 4 else 1)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"landlock failed ({os.strerror(ctypes.get_errno())})"
    try:
        # No rules: every handled right is denied everywhere.
        if libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return f"landlock failed ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return f"landlock abi {abi}"


def _seccomp() -> str:
    try:
        import pyseccomp
    except (ImportError, OSError) as error:  # OSError: libseccomp.so.2 itself is missing
        return f"seccomp unavailable ({type(error).__name__}: {error})"
    try:
        rules = pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            try:
                rules.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
            except (ValueError, RuntimeError, OSError):
                continue  # a call this architecture does not have (fork on arm64)
        rules.load()
    except (RuntimeError, OSError, ValueError) as error:
        return f"seccomp failed ({error})"
    return "seccomp"


def confine() -> str:
    """Apply every layer this machine offers to the calling process; say which."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return "unconfined (no_new_privs refused)"
    except (OSError, AttributeError) as error:
        return f"unconfined ({type(error).__name__})"
    # seccomp first: its binding is imported from disk, which Landlock then forbids.
    filtered = _seccomp()
    return f"{_landlock(libc)}, {filtered}"
