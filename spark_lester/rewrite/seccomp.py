"""A seccomp filter for sandboxed runs, compiled with libseccomp (through ``ctypes``).

The system calls below reach other processes, the kernel's configuration or new namespaces;
neither Python, PyTorch nor the JVM needs them to run a rewrite. A sandboxed process that
makes one is killed (``SCMP_ACT_KILL_PROCESS``): the run ends with ``SIGSYS`` and is
rejected, whether or not the program would have swallowed an error. Everything else is
allowed (the namespaces and mounts of :mod:`.sandbox` are the boundary; this narrows the
kernel surface inside it).

Where ``libseccomp.so.2`` is not installed (Debian: ``libseccomp2``), :func:`seccomp_filter`
returns None and runs go without it; :func:`seccomp_available` says which.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from pathlib import Path

#: Killed on sight (names as libseccomp knows them; ones this kernel lacks are skipped).
DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_send_signal", "pidfd_getfd",
    "kcmp", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "setns", "unshare",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsmount", "fsconfig", "open_by_handle_at", "name_to_handle_at", "userfaultfd",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "settimeofday", "clock_settime",
    "clock_adjtime", "adjtimex", "syslog", "iopl", "ioperm", "personality", "lookup_dcookie",
    "vhangup",
)
# Not denied: mbind, migrate_pages, move_pages (NUMA placement of the process's own memory;
# OpenBLAS calls mbind when numpy first multiplies matrices).
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_KILL_PROCESS = 0x80000000


@functools.cache
def _libseccomp() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                     ctypes.c_uint]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def seccomp_available() -> bool:
    return _libseccomp() is not None


def seccomp_filter(path: Path) -> Path | None:
    """Write the compiled filter (BPF, for ``bwrap --seccomp``) to ``path``; None where
    libseccomp is missing."""
    lib = _libseccomp()
    if lib is None:
        return None
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        return None
    try:
        for name in DENIED_SYSCALLS:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:
                continue
            if lib.seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, number, 0) != 0:
                raise OSError(f"seccomp_rule_add({name}) failed")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if lib.seccomp_export_bpf(ctx, fd) != 0:
                raise OSError("seccomp_export_bpf failed")
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)
    return path
