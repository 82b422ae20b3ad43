#!/usr/bin/env python3
"""Writes fuzz/corpus: the seed inputs of fuzz_frames, valid host frames as docs/agent-protocol.md
defines them (one frame per file, and one file holding a whole session's stream of frames).
Run from guest/ after a protocol change: python3 fuzz/seeds.py"""
import os
import struct

def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def u64(v): return struct.pack(">Q", v)
def s(b): b = b.encode() if isinstance(b, str) else b; return u32(len(b)) + b
def sl(items): return u32(len(items)) + b"".join(s(i) for i in items)
def frame(t, stream, payload=b""): return bytes([1, t, 0, 0]) + u32(stream) + u32(len(payload)) + payload

seeds = {
    "hello-rev1": frame(0x01, 0, u32(1) + u64(1733300000000000000) + s(b"\x01" * 32)),
    "hello-rev3": frame(0x01, 0, u32(1) + u64(1) + s(b"entropy") + u32(1) + s("nonce-0123456789") + s("sb-abc123")),
    "exec": frame(0x02, 1, u32(1) + u32(0xFFFFFFFF) + u32(0xFFFFFFFF) + u32(5000) + s("/tmp") + sl(["sh", "-c", "echo hi"]) + sl(["A=1", "B=2"])),
    "exec-pty-login": frame(0x02, 3, u32(6) + u32(1000) + u32(1000) + u32(0) + s("") + sl([]) + sl([]) + u16(24) + u16(80)),
    "stdin": frame(0x03, 1, b"input bytes\n"),
    "stdin-close": frame(0x04, 1),
    "signal": frame(0x05, 1, u32(15)),
    "file-read": frame(0x06, 5, s("/etc/hostname")),
    "file-write": frame(0x07, 7, u32(0o644) + u32(1) + s("/tmp/a/b/c.txt")) + frame(0x0F, 7, b"data") + frame(0x10, 7),
    "stat": frame(0x08, 9, s("/")),
    "list": frame(0x09, 11, s("/usr/bin")),
    "mkdir": frame(0x0A, 13, u32(0o755) + u32(1) + s("/tmp/x/y")),
    "remove": frame(0x0B, 15, u32(1) + s("/tmp/x")),
    "rename": frame(0x0C, 17, s("/tmp/from") + s("/tmp/to")),
    "sync": frame(0x0D, 19),
    "window": frame(0x0E, 1, u32(65536)),
    "cancel": frame(0x11, 1),
    "freeze": frame(0x12, 21),
    "resize": frame(0x13, 3, u16(40) + u16(120)),
    "grow-root": frame(0x14, 23, u64(4 << 30)),
}
seeds["session"] = b"".join(seeds[k] for k in ["hello-rev3", "exec", "stdin", "window", "file-write", "list", "rename", "sync", "signal"])

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
