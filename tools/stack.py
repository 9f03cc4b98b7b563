#!/usr/bin/env python3
"""Worst-case stack of each public entry point of icbu_reflow.h.

Method
  The implementation is compiled with GCC's `-fstack-usage -fcallgraph-info=su`
  (and -ffunction-sections -fdata-sections, as firmware compiles it) once per
  (target, hash back end): Cortex-M4F -Os with arm-none-eabi-gcc and, for
  comparison, x86-64 -O2 with the host gcc. The back end's own md5/sha256
  sources (Debian's source packages, fetched by tools/fetch_backend_src.sh)
  are compiled the same way, so the hash calls are measured, not guessed; the
  hash context itself lives in the library's signer, in the caller's frame.
  PSA (ICBU_REFLOW_CRYPTO_PSA) is measured on mbedTLS 2.28's own PSA Crypto,
  default config: psa_hash_* (psa_crypto.c) -> psa_driver_wrapper_hash_*
  (psa_crypto_driver_wrappers.c) -> mbedtls_psa_hash_* (psa_crypto_hash.c) ->
  every hash module that dispatch can reach (md5, sha256, sha1, sha512,
  ripemd160) and platform_util.c. mbedtls_psa_hash_* switch on the operation's
  algorithm; the library only ever selects the PSA_ALG_* its header names
  (MD5, SHA-256), so the arms for the other algorithms are left out of the
  table's paths (edges from mbedtls_psa_hash_* into the other modules); the
  note gives what counting them would add.
  The .su files give each function's frame, the .ci files the call edges; the
  script takes the longest path from each entry point.

  Outside the graph:
    * libc and libgcc helpers (memcpy, memset, memmove, memcmp, strlen,
      __aeabi_*): on ARM, measured from newlib's libc.a and libgcc.a of the
      same multilib by disassembly (sum of every push/stmdb/vpush/sub sp/
      pre-decrement store in the function, plus its callees: an upper bound);
      on x86-64 counted as 8 bytes (their return address: glibc's are
      assembly leaves).
    * the transport callbacks (send, recv, now_ms) are the caller's code:
      not included; each entry point that calls them is marked.
    * mbedtls_platform_zeroize calls memset through a volatile pointer: that
      indirect call is counted as memset.

  Recursion: the JSON reader (icbu__jobj, icbu__jval, icbu__jarray, icbu__jelement)
  recurses only through the schema's OBJ/OBJS fields (unknown JSON is skipped
  by the iterative icbu__jskip), so each recursive function is allowed as many
  activations on a path as the schema has object levels below the root type:
  computed from the ICBU_FIELDS_* lists in the header (order: order >
  subject_matter_info > goods_item_list[] = 3; answer: response >
  ..._response > result = 3). The writer does not recurse (icbu__wobj keeps
  one level per object in its own frame). Any other cycle is an error.

Painted and static (docs/stack.md's second table, the stack-painted block):
  for each entry point the firmware images call, on Cortex-M4F -Os with the
  small custom hash of tests/firmware/fw_hash.c (measured here too, for this
  table only) and with mbedTLS: the static figure next to the painted peak of
  the linked images running under QEMU, read from tools/firmware.py's
  measurements (BUILD/firmware-measured.json, --measured; nothing is run
  here), and the issue's painted targets (icbu_sign_body <= 1024 bytes with
  the custom hash, <= 1100 with mbedTLS, every other entry point <= 1024).

    python3 tools/stack.py [--verbose]      print the tables (and the chains)
    python3 tools/stack.py --write docs/stack.md
        rewrite the stack-table and stack-painted blocks (`make docs`)
    python3 tools/stack.py --budget docs/stack.md
        check every figure against the published one plus a tolerance, and
        the targets where the published figure meets them (tools/budget.py;
        `make test`); and that no painted peak is above its static figure
    python3 tools/stack.py --check docs/stack.md
        exit 1 (with a diff) unless the blocks are byte for byte the same

Environment: ARM_CC, ARM_OBJDUMP, HOST_CC (gcc), BUILD (build), BACKEND_SRC
(build/backend-src). Python 3 standard library only.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import readme_block  # noqa: E402  tools/readme_block.py
import budget  # noqa: E402  tools/budget.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIMIT = 1024

def public_functions(header=os.path.join(ROOT, "icbu_reflow.h")):
    """Every public function, in the order the header declares them."""
    with open(header, encoding="utf-8") as f:
        text = f.read()
    text = text[:text.index("#if defined(ICBU_REFLOW_IMPLEMENTATION)")]
    names = re.findall(r"^ICBUDEF\s[^(;]*?\b(icbu_\w+)\(", text, re.M)
    return list(dict.fromkeys(names))


ENTRIES = public_functions()
OPTIONAL_ENTRIES = []
# Which schema type bounds the reader's recursion, per entry point: the gateway's
# answer for those that read one (by name), the order for the others.
READER_ANSWER = re.compile(r"(parse_response|parse_answer|exchange|report)$")


def reader_root(entry):
    return "response" if READER_ANSWER.search(entry) else "order"


# Entry points that use the output sink but never hash: their sink has no signer
# (icbu__out.sg is NULL), so the sink's hashing branch, which the call graph cannot
# rule out, is left out for them. Every other entry point keeps it (an upper bound:
# a new entry point that writes JSON without signing belongs here).
NOT_SIGNING = {"icbu_order_json", "icbu_request_json", "icbu_http_head"}
# (mbedtls_\w+ covers mbedtls_psa_*; psa_\w+ the PSA API and its driver wrappers)
HASH_NODE = re.compile(r"^(icbu__sg_\w*|icbu__h(init|update|final)|icbu_custom_hash_\w+|mbedtls_\w+|psa_\w+|br_\w+|sha2small_\w+)$")
READER = {"icbu__jobj", "icbu__jval", "icbu__jarray", "icbu__jelement"}
LIBC = {"memcpy", "memmove", "memset", "memcmp", "strlen"}

M4 = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
# As firmware compiles (and tools/firmware.py's images): GCC lays out some frames
# differently with them (a frame 8 bytes larger or smaller on Cortex-M4F -Os).
SECTIONS = ["-ffunction-sections", "-fdata-sections"]

BACKENDS = {
    "mbedtls": {
        "label": "mbedTLS",
        "define": "ICBU_REFLOW_CRYPTO_MBEDTLS",
        "inc": ["mbedtls/include"],
        "src": ["mbedtls/library/md5.c", "mbedtls/library/sha256.c",
                "mbedtls/library/platform_util.c"],
        "ctx": ["mbedtls/md5.h", "mbedtls/sha256.h"],
        "types": ["mbedtls_md5_context", "mbedtls_sha256_context"],
    },
    "bearssl": {
        "label": "BearSSL",
        "define": "ICBU_REFLOW_CRYPTO_BEARSSL",
        "inc": ["bearssl/inc", "bearssl/src"],
        "src": ["bearssl/src/hash/md5.c", "bearssl/src/hash/sha2small.c"] +
               ["bearssl/src/codec/%s%d%s.c" % (d, w, e) for d in ("dec", "enc")
                for w in (32, 64) for e in ("le", "be")],
        "ctx": ["bearssl.h"],
        "types": ["br_md5_context", "br_sha256_context"],
    },
    "psa": {
        "label": "PSA",
        "define": "ICBU_REFLOW_CRYPTO_PSA",
        "inc": ["mbedtls/include"],
        # the whole psa_hash_* call graph of mbedTLS 2.28, default config
        # (MD2 and MD4 are off there; md5..ripemd160 are what the dispatch reaches)
        "src": ["mbedtls/library/%s.c" % f for f in (
            "psa_crypto", "psa_crypto_driver_wrappers", "psa_crypto_hash",
            "md5", "sha256", "sha1", "sha512", "ripemd160", "platform_util")],
        "ctx": ["psa/crypto.h"],
        "types": ["psa_hash_operation_t"],
        "dispatch": re.compile(r"^mbedtls_psa_hash_\w+$"),
    },
}
# Measured on Cortex-M4F only, for the painted-and-static table: the small custom
# hash of the firmware images (tests/firmware/fw_hash.c), whose painted peaks
# tools/firmware.py measures.
ARM_ONLY = {
    "custom": {
        "label": "custom hash",
        "define": "ICBU_REFLOW_CRYPTO_CUSTOM",
        "inc": [ROOT],
        "src": [os.path.join(ROOT, "tests", "firmware", "fw_hash.c")],
    },
}
ALL_BACKENDS = dict(BACKENDS, **ARM_ONLY)
# PSA_ALG_* the header may select -> the mbedTLS module that implements it;
# any other PSA_ALG_ in the header stops the script (the pruning would be wrong).
PSA_MODULE = {"MD5": "md5", "SHA_256": "sha256"}
HASH_MODULE = re.compile(r"^mbedtls_(md2|md4|md5|ripemd160|sha1|sha256|sha512)_\w+$")


def die(msg):
    sys.stderr.write("stack.py: %s\n" % msg)
    sys.exit(2)


def run(cmd, cwd=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, cwd=cwd)
    if p.returncode != 0:
        die("command failed: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p.stdout


def targets():
    arm_cc = os.environ.get("ARM_CC", "arm-none-eabi-gcc")
    host_cc = os.environ.get("HOST_CC", "gcc")
    return [
        {"key": "m4", "label": "Cortex-M4F -Os", "cc": arm_cc,
         "flags": ["-std=gnu99", "-DNDEBUG"] + M4 + ["-Os"] + SECTIONS, "arm": True},
        {"key": "x64", "label": "x86-64 -O2", "cc": host_cc,
         "flags": ["-std=gnu99", "-DNDEBUG", "-O2"] + SECTIONS, "arm": False},
    ]


# ---------------------------------------------------------------- schema
def schema_depths(header):
    text = open(header).read()
    types = {}
    for m in re.finditer(r"#define ICBU_FIELDS_(\w+)\(X\)((?:.*\\\n)*.*)", text):
        fields = re.findall(r"X\(\s*\w+\s*,\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*\)", m.group(2))
        types[m.group(1)] = fields
    depth = {}

    def d(t, seen=()):
        if t in seen:
            die("the schema is recursive at %s" % t)
        if t not in depth:
            depth[t] = 1 + max([d(sub, seen + (t,)) for kind, name, sub in types[t]
                                if kind in ("OBJ", "OBJS")] or [0])
        return depth[t]

    for t in types:
        d(t)
    if "response" not in depth:
        # The answer's types come from the method table (ICBU_METHODS: X(id, name,
        # param, request, key, envelope, result)): {envelope: {result, request_id}},
        # {error_response} or {result, request_id}; the deepest method bounds the reader.
        flat = text.replace("\\\n", " ")
        m = re.search(r"#define ICBU_METHODS\(X\)(.*)", flat)
        answers = []
        for args in re.findall(r"X\(([^()]*)\)", m.group(1) if m else ""):
            a = [x.strip() for x in args.split(",")]
            if len(a) == 7:
                answers.append(max(2 + d(a[6]), 1 + depth.get("error_response", 1)))
        if not answers:
            die("neither ICBU_FIELDS_response nor ICBU_METHODS in the header: how deep is the answer?")
        depth["response"] = max(answers)
    return depth


# ----------------------------------------------------------- .su and .ci
NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"(?: label: "([^"]*)")?')
# The only indirect calls the library may make: the callbacks the caller
# passes in (transport, retry). Any other is an error, not a zero.
CALLBACK = re.compile(r"->\s*(send|recv|now_ms|open|close|sleep_ms|random|unix_now)\s*\(")


def parse_unit(ci_path, su_path):
    """Nodes defined in this unit: title -> (name, size, qualifier); edges."""
    su = {}
    for line in open(su_path):
        loc_name, size, qual = line.rstrip("\n").split("\t")
        loc, name = loc_name.rsplit(":", 1)
        su[(loc, name)] = (int(size), qual)
    nodes, edges = {}, []
    for line in open(ci_path):
        m = NODE.search(line)
        if m:
            title, label = m.groups()
            parts = label.split("\\n")
            if len(parts) >= 3:
                sm = re.match(r"(\d+) bytes \(([^)]*)\)", parts[2])
                if not sm:
                    die("%s: cannot read %r" % (ci_path, label))
                size, qual = int(sm.group(1)), sm.group(2)
                if (parts[1], parts[0]) not in su or su[(parts[1], parts[0])][0] != size:
                    die("%s and %s disagree on %s" % (ci_path, su_path, title))
                if "dynamic" in qual and "bounded" not in qual:
                    die("%s has an unbounded dynamic frame (%s)" % (parts[0], qual))
                nodes[title] = (parts[0], size, qual)
            continue
        m = EDGE.search(line)
        if m:
            src, dst, where = m.groups()
            if dst == "__indirect_call" and where and "icbu_reflow.h:" in where:
                f, ln = where.rsplit(":", 2)[0], int(where.rsplit(":", 2)[1])
                text = open(f).read().splitlines()[ln - 1] if os.path.exists(f) else ""
                if not CALLBACK.search(text):
                    die("indirect call that is not a user callback at %s: %s" % (where, text.strip()))
            edges.append((src, dst))
    return nodes, edges


# ------------------------------------------ libc/libgcc by disassembly (ARM)
class ArmLib:
    def __init__(self, cc, flags):
        objdump = os.environ.get("ARM_OBJDUMP", "arm-none-eabi-objdump")
        libs = [run([cc] + flags + ["-print-file-name=libc.a"]).strip(),
                run([cc] + flags + ["-print-libgcc-file-name"]).strip()]
        nm = os.environ.get("ARM_NM", "arm-none-eabi-nm")
        self.funcs = {}
        self.alias = {}
        for lib in libs:
            if not os.path.exists(lib):
                die("no %s" % lib)
            self._parse(run([objdump, "-dr", "--no-show-raw-insn", lib]))
            # objdump labels one symbol per address: map the others (weak
            # aliases such as __aeabi_ldiv0 = __aeabi_idiv0) to it
            at = {}
            for line in run([nm, "-A", "--defined-only", lib]).splitlines():
                m = re.match(r"^(.*):([0-9a-f]+) [TtWw] ([\w.$]+)$", line)
                if m:
                    at.setdefault((m.group(1), m.group(2)), []).append(m.group(3))
            for names in at.values():
                known = [n for n in names if n in self.funcs]
                for n in names:
                    if n not in self.funcs and known:
                        self.alias[n] = known[0]
        self.memo = {}

    @staticmethod
    def _regs(lst):
        n = 0
        for r in lst.split(","):
            r = r.strip()
            m = re.match(r"([a-z]+)(\d+)-[a-z]+(\d+)$", r)
            n += int(m.group(3)) - int(m.group(2)) + 1 if m else 1
        return n

    def _parse(self, text):
        cur = None
        for line in text.splitlines():
            m = re.match(r"^[0-9a-f]+ <([\w.$]+)>:$", line)
            if m:
                cur = None if m.group(1) in self.funcs else m.group(1)
                if cur:
                    self.funcs[cur] = [0, set()]
                continue
            if cur is None:
                continue
            f = self.funcs[cur]
            m = re.search(r"R_ARM_(?:THM_CALL|THM_JUMP24|THM_JUMP19|CALL|JUMP24)\s+([\w.$]+)", line)
            if m:
                f[1].add(m.group(1))
                continue
            ins = line.split("\t")
            if len(ins) < 2:
                continue
            op = ins[1].strip() if len(ins) == 2 else ins[1].strip()
            args = ins[2] if len(ins) > 2 else ""
            if re.match(r"(push|stmdb)(\.w)?$", op) and ("{" in args) and (op.startswith("push") or args.startswith("sp!")):
                f[0] += 4 * self._regs(args[args.index("{") + 1:args.index("}")])
            elif re.match(r"vpush(\.\d+)?$", op) or (op.startswith("vstmdb") and args.startswith("sp!")):
                regs = args[args.index("{") + 1:args.index("}")]
                f[0] += (8 if "d" in regs else 4) * self._regs(regs)
            elif re.match(r"sub(s|w|\.w)?$", op) and re.match(r"sp, (sp, )?#\d+", args):
                f[0] += int(re.search(r"#(\d+)", args).group(1))
            else:
                m = re.search(r"\[sp, #-(\d+)\]!", args)
                if m:
                    f[0] += int(m.group(1))
                m = re.match(r"bl?x?(\.[nw])?$", op)
                if m and op not in ("bx", "blx"):
                    t = re.search(r"<([\w.$]+?)(\+0x[0-9a-f]+)?>", args)
                    if t and t.group(1) != cur and not t.group(2):
                        f[1].add(t.group(1))

    def stack(self, name, seen=()):
        if name in self.memo:
            return self.memo[name]
        name = self.alias.get(name, name)
        if name not in self.funcs:
            die("%s is not in newlib's libc.a or libgcc.a" % name)
        if name in seen:
            die("recursion in the C library at %s" % name)
        own, callees = self.funcs[name]
        worst = max([self.stack(c, seen + (name,)) for c in callees] or [0])
        self.memo[name] = own + worst
        return own + worst


# ------------------------------------------------------------- building
def sizeof_types(tgt, be, src_root, build):
    """sizeof each hash context type for this target, read from a probe object."""
    cfg = BACKENDS[be]
    src = os.path.join(build, "ctx_%s.c" % be)
    with open(src, "w") as f:
        for h in cfg["ctx"]:
            f.write("#include <%s>\n" % h)
        for t in cfg["types"]:
            f.write("char icbu_sizeof_%s[sizeof(%s)];\n" % (t, t))
        f.write("typedef union { %s; } u_t;\nchar icbu_sizeof_union[sizeof(u_t)];\n"
                % "; ".join("%s m%d" % (t, i) for i, t in enumerate(cfg["types"])))
    obj = src[:-2] + ".o"
    incs = sum([["-I", os.path.join(src_root, i)] for i in cfg["inc"]], [])
    run([tgt["cc"]] + tgt["flags"] + ["-fno-common"] + incs + ["-c", src, "-o", obj])
    nm = "arm-none-eabi-nm" if tgt["arm"] else "nm"
    out = {}
    for line in run([nm, "-S", obj]).splitlines():
        p = line.split()
        if len(p) == 4 and p[3].startswith("icbu_sizeof_"):
            out[p[3][len("icbu_sizeof_"):]] = int(p[1], 16)
    return out


def build_graph(tgt, be, header, src_root, build):
    cfg = ALL_BACKENDS[be]
    d = os.path.join(build, "%s-%s" % (tgt["key"], be))
    os.makedirs(d, exist_ok=True)
    for old in glob.glob(os.path.join(d, "*")):
        os.remove(old)
    impl = os.path.join(d, "icbu_impl.c")
    with open(impl, "w") as f:
        f.write("/* generated by tools/stack.py */\n#define %s\n#define ICBU_REFLOW_IMPLEMENTATION\n"
                '#include "%s"\n' % (cfg["define"], os.path.abspath(header)))
    incs = sum([["-I", os.path.join(src_root, i)] for i in cfg["inc"]], [])
    units = [impl] + [os.path.join(src_root, s) for s in cfg["src"]]
    nodes, edges = {}, []
    for i, s in enumerate(units):
        if not os.path.exists(s):
            die("%s missing (run tools/fetch_backend_src.sh %s)" % (s, src_root))
        base = "u%02d_%s" % (i, os.path.splitext(os.path.basename(s))[0])
        # the .su/.ci files take the object's name (GCC >= 11)
        run([tgt["cc"]] + tgt["flags"] + incs + ["-fstack-usage", "-fcallgraph-info=su",
            "-c", s, "-o", base + ".o"], cwd=d)
        n, e = parse_unit(os.path.join(d, base + ".ci"), os.path.join(d, base + ".su"))
        for k, v in n.items():
            if k in nodes:
                die("%s defined twice" % k)
            nodes[k] = v
        edges += e
    calls = {}
    for a, b in edges:
        calls.setdefault(a, set()).add(b)
    return nodes, calls


def base_name(n):
    return n.split(":")[-1].split(".")[0]


def worst_paths(nodes, calls, ext, limits_for, skip_edge=None):
    """ext(name) -> (bytes, note) for a name not defined in the graph;
    skip_edge(caller, callee) -> True for a call that cannot happen."""
    def walk(fn, counts, path, entry):
        if fn == "__indirect_call":
            if not base_name(path[-2]).startswith("icbu"):
                die("indirect call in the hash back end: %s" % " -> ".join(path))
            return 0, ["(transport callback)"], {"callback"}
        if fn not in nodes:
            size, note = ext(fn, path)
            return size, ["%s %d%s" % (fn, size, note)], {"lib"} if size else set()
        name, size, _ = nodes[fn]
        bn = base_name(fn)
        limits = limits_for(entry)
        best, best_chain, flags = 0, [], set()
        for c in sorted(calls.get(fn, ())):
            cb = base_name(c)
            if c in path and cb not in limits:
                die("unbounded recursion: %s -> %s" % (" -> ".join(path), c))
            if cb in limits and counts.get(cb, 0) >= limits[cb]:
                continue
            if entry in NOT_SIGNING and HASH_NODE.match(cb):
                continue
            if skip_edge and skip_edge(bn, cb):
                continue
            nc = dict(counts)
            if cb in limits:
                nc[cb] = nc.get(cb, 0) + 1
            s, ch, fl = walk(c, nc, path + (c,), entry)
            flags |= fl
            if s > best:
                best, best_chain = s, ch
        return size + best, ["%s %d" % (name, size)] + best_chain, flags

    def ext_wrap(fn, path):
        return ext(fn, path)

    res = {}
    for entry in ENTRIES + OPTIONAL_ENTRIES:
        if entry not in nodes:
            if entry in OPTIONAL_ENTRIES:
                continue
            die("entry point %s not found" % entry)
        start = {}
        if base_name(entry) in limits_for(entry):
            start[base_name(entry)] = 1
        res[entry] = walk(entry, start, (entry,), entry)
    return res


def psa_modules(header):
    """The mbedTLS hash modules behind the PSA_ALG_* the implementation uses."""
    text = open(header).read()
    text = text[text.index("#if defined(ICBU_REFLOW_IMPLEMENTATION)"):]
    algs = set(re.findall(r"\bPSA_ALG_(\w+)", text))
    if not algs or algs - set(PSA_MODULE):
        die("the header selects PSA_ALG_%s: update PSA_MODULE in tools/stack.py"
            % ", PSA_ALG_".join(sorted(algs - set(PSA_MODULE)) or ["(none)"]))
    PSA_ALGS.update(algs)
    return {PSA_MODULE[a] for a in algs}


def measure(header, src_root, build):
    depth = schema_depths(header)
    modules = psa_modules(header)

    def limits_for(entry):
        rd = depth[reader_root(entry)]
        return {f: rd for f in READER}

    out, ctx, chains, wide = {}, {}, {}, {}
    for tgt in targets():
        if not shutil.which(tgt["cc"]):
            die("%s not found" % tgt["cc"])
        lib = ArmLib(tgt["cc"], tgt["flags"]) if tgt["arm"] else None
        for be in list(BACKENDS) + (list(ARM_ONLY) if tgt["arm"] else []):
            nodes, calls = build_graph(tgt, be, header, src_root, build)

            def ext(fn, path, lib=lib):
                caller = base_name(path[-2]) if len(path) > 1 else ""
                if fn in LIBC or fn.startswith("__aeabi_") or fn.startswith("__gnu_"):
                    if lib:
                        return lib.stack(fn), " (libc/libgcc)"
                    return 8, " (libc)"
                if fn == "__indirect_call" and caller == "mbedtls_platform_zeroize":
                    return ext("memset", path)
                die("%s (called from %s) is not defined anywhere" % (fn, " -> ".join(path[:-1])))

            # mbedtls_platform_zeroize's volatile memset pointer is memset
            for k in list(calls):
                if base_name(k) == "mbedtls_platform_zeroize" and "__indirect_call" in calls[k]:
                    calls[k] = (calls[k] - {"__indirect_call"}) | {"memset"}
            skip = None
            if ALL_BACKENDS[be].get("dispatch"):
                def skip(caller, callee, disp=ALL_BACKENDS[be]["dispatch"]):
                    m = HASH_MODULE.match(callee)
                    if disp.match(caller) and m and m.group(1) not in modules:
                        PRUNED.add(m.group(1))
                        return True
                    return False
                # the same graph with every arm of the dispatch, for the note
                for e, (s, ch, fl) in worst_paths(nodes, calls, ext, limits_for).items():
                    wide[(e, tgt["key"], be)] = (s, ch)
            res = worst_paths(nodes, calls, ext, limits_for, skip)
            for e, (s, ch, fl) in res.items():
                out[(e, tgt["key"], be)] = (s, fl)
                chains[(e, tgt["key"], be)] = ch
            if be in BACKENDS:
                ctx[(tgt["key"], be)] = sizeof_types(tgt, be, src_root, build)
    return out, ctx, chains, depth, wide


def render(out, ctx, depth, wide, chains=None):
    cols = [(t, be) for t in targets() for be in BACKENDS]
    lines = ["| entry point | " + " | ".join("%s, %s" % (t["label"], BACKENDS[be]["label"])
                                              for t, be in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    over = []
    for e in ENTRIES + OPTIONAL_ENTRIES:
        if (e, cols[0][0]["key"], cols[0][1]) not in out:
            continue
        cells = []
        for t, be in cols:
            s, fl = out[(e, t["key"], be)]
            mark = " +cb" if "callback" in fl else ""
            cells.append("%d%s" % (s, mark))
            if t["arm"] and s > LIMIT:
                over.append("%s (%s, %d)" % (e, BACKENDS[be]["label"], s))
        lines.append("| `%s` | %s |" % (e, " | ".join(cells)))
    arm = [t for t in targets() if t["arm"]][0]
    ctx_parts = []
    for be in BACKENDS:
        types, size = BACKENDS[be]["types"], ctx[(arm["key"], be)]
        if len(types) == 2:
            ctx_parts.append("%s: md5 %d, sha256 %d bytes" % (
                BACKENDS[be]["label"], size[types[0]], size[types[1]]))
        else:   # one operation type for both hashes: its size on every target
            ctx_parts.append("%s: `%s` %d bytes%s" % (
                BACKENDS[be]["label"], types[0], size[types[0]],
                "".join(", %d on %s" % (ctx[(t["key"], be)][types[0]], t["label"].split()[0])
                        for t in targets() if t["key"] != arm["key"])))
    ctxs = "; ".join(ctx_parts)
    # what the other algorithms' arms of PSA's dispatch would add (see the docstring)
    extra = []
    for be in BACKENDS:
        if not BACKENDS[be].get("dispatch"):
            continue
        for t in targets():
            key = lambda e: (wide[(e, t["key"], be)][0] - out[(e, t["key"], be)][0], -ENTRIES.index(e))
            worst = max(ENTRIES, key=key)
            w, d = wide[(worst, t["key"], be)][0], out[(worst, t["key"], be)][0]
            below, deep = False, None
            for c in wide[(worst, t["key"], be)][1]:
                cm = re.match(r"^(\S+) (\d+)", c)
                if not cm:
                    continue
                name, size = cm.group(1), int(cm.group(2))
                m = HASH_MODULE.match(name)
                below = below or bool(m and m.group(1) in PRUNED)
                if below and (deep is None or size > deep[1]):
                    deep = (name, size)
            extra.append("%s %d bytes (`%s`: %d instead of %d%s)" % (
                t["label"].split()[0], w - d, worst, w, d,
                "; `%s` alone takes %d" % deep if deep else ""))
    psa_note = ""
    if extra:
        psa_note = ("PSA: `mbedtls_psa_hash_*` switch on the operation's algorithm to every hash "
                    "the config enables; the library selects only %s, so the arms into the "
                    "other modules (%s) are left out; counting them would add, at most: %s. "
                    % (" and ".join("`PSA_ALG_%s`" % a for a in sorted(PSA_ALGS)),
                       ", ".join(MODULE_NAME.get(m, m) for m in sorted(PRUNED)),
                       "; ".join(extra)))
    vers = " and ".join("`%s` %s" % (t["cc"], cc_version(t["cc"])) for t in targets())
    lines.append("")
    lines.append(
        "Stack: worst case in bytes along the deepest call chain, from GCC's `-fstack-usage "
        "-fcallgraph-info=su` (`tools/stack.py`; " + vers + ", `-std=gnu99 -DNDEBUG -ffunction-sections -fdata-sections`), including the hash back end's own functions "
        "(mbedTLS %s and BearSSL %s compiled from source with the same flags; PSA: the same "
        "mbedTLS's own PSA Crypto, default config, nothing overridden: `psa_hash_*` in "
        "`psa_crypto.c`, `psa_crypto_driver_wrappers.c`, `psa_crypto_hash.c` and every hash module "
        "its dispatch reaches), the "
        "hash context inside the signer (Cortex-M4F: %s), and libc/libgcc helpers (ARM: measured "
        "from newlib's `libc.a`/`libgcc.a` by disassembly; x86-64: 8 bytes each); entry points "
        "that do not sign skip the output sink's hashing branch (its signer is NULL there). `+cb`: "
        "plus the stack of the callbacks you pass in (transport; retry). %s"
        "Recursion is bounded by the schema: the JSON reader nests %d objects deep for an order "
        "(order > subject_matter_info > goods_item_list[]) and %d for the gateway's answer; "
        "unknown fields are skipped without recursion, and the writer does not recurse (it keeps "
        "one level per object, %d for an order, in one frame). Target: at most %d bytes per entry point on Cortex-M4F%s."
        % (BACKEND_VERSIONS.get("mbedtls", "?"), BACKEND_VERSIONS.get("bearssl", "?"), ctxs,
           psa_note, depth["order"], depth["response"], depth["order"], LIMIT,
           " (met)" if not over else "; over: " + ", ".join(over)))
    if chains:
        lines += deepest_chains(out, chains, arm)
    lines.append("")
    lines.append("Measured on %s. `make test` checks every figure of the table against this page: "
                 "at most %s over the figure published here, and at most %d bytes on Cortex-M4F where "
                 "the published figure is within that target (tools/budget.py). `make docs` rewrites "
                 "the page." % (budget.header_id(HEADER[0]), budget.STACK_RULE, LIMIT))
    return "\n".join(lines) + "\n", over


def deepest_chains(out, chains, arm):
    """Where the stack goes: the worst chain of every Cortex-M4F entry point over the
    target (else of the deepest one), in the first back end's column."""
    be = list(BACKENDS)[0]
    keys = [e for e in ENTRIES + OPTIONAL_ENTRIES if (e, arm["key"], be) in out]
    if not keys:
        return []
    over = [e for e in keys if out[(e, arm["key"], be)][0] > LIMIT]
    show = over or [max(keys, key=lambda e: out[(e, arm["key"], be)][0])]
    lines = ["", "Where the stack goes, %s, %s: the frames (bytes) along the deepest chain of %s."
             % (arm["label"], BACKENDS[be]["label"],
                "each entry point over the target" if over else "the deepest entry point"), ""]
    for e in show:
        frames = []
        for c in chains[(e, arm["key"], be)]:
            m = re.match(r"^(\S+) (\d+)", c)
            frames.append("`%s` %s" % (m.group(1), m.group(2)) if m else c)
        lines.append("- `%s`, %d: %s" % (e, out[(e, arm["key"], be)][0], " → ".join(frames)))
    return lines


def cell_bytes(c):
    m = re.match(r"^(\d+)( \+cb)?$", c)
    return int(m.group(1)) if m else None


# ------------------------------------------------------- painted and static
# The entry points the firmware images call (tools/firmware.py), in this order;
# their painted peaks on Cortex-M4F, next to this script's static figures.
PAINTED_ENTRIES = ["icbu_sign_body", "icbu_order_json", "icbu_date_from_unix", "icbu_date_format",
                   "icbu_url_parse", "icbu_exchange", "icbu_report", "icbu_decode_order"]
PAINT_HASHES = (("custom", "custom hash"), ("mbedtls", "mbedTLS"))
# The targets for the painted peaks (bytes): icbu_sign_body by hash, LIMIT otherwise
PAINT_TARGETS = {("icbu_sign_body", "custom"): 1024, ("icbu_sign_body", "mbedtls"): 1100}


def paint_target(entry, hsh):
    return PAINT_TARGETS.get((entry, hsh), LIMIT)


def painted(m):
    """{(entry point, hash): [bytes, {image: its figure}, every image passed]}: the
    deepest painted peak of each entry point over the Cortex-M4F images of that
    hash (for icbu_sign_body, over its three sign methods and hmac-sha256 without an icbu_err)."""
    out = {}
    for name, im in sorted(m["images"].items()):
        if im["arch"] != "m4f":
            continue
        for e, v in im["stack"].items():
            base = e.split("/")[0]
            if base not in PAINTED_ENTRIES or not isinstance(v, int):
                continue
            cur = out.setdefault((base, im["hash"]), [0, {}, True])
            cur[0] = max(cur[0], v)
            cur[1][name] = max(cur[1].get(name, 0), v)
            cur[2] = cur[2] and im["ok"]
    return out


def fmt(n):
    return "{:,}".format(n)


def painted_targets(p):
    """The issue's stack targets against the painted peaks, one phrase each."""
    out = []
    for hsh, label in PAINT_HASHES:
        got = p.get(("icbu_sign_body", hsh))
        lim = paint_target("icbu_sign_body", hsh)
        if got is None:
            out.append("`icbu_sign_body`, %s ≤ %s bytes: not measured" % (label, fmt(lim)))
        else:
            out.append("`icbu_sign_body`, %s ≤ %s bytes: %s, %s" % (
                label, fmt(lim), fmt(got[0]), "met (%s to spare)" % fmt(lim - got[0]) if got[0] <= lim
                else "not met: %s over" % fmt(got[0] - lim)))
    for hsh, label in PAINT_HASHES:
        over = [(e, p[(e, hsh)][0]) for e in PAINTED_ENTRIES[1:]
                if (e, hsh) in p and p[(e, hsh)][0] > paint_target(e, hsh)]
        seen = [e for e in PAINTED_ENTRIES[1:] if (e, hsh) in p]
        out.append("every other entry point the images call (%d), %s ≤ %s bytes: %s" % (
            len(seen), label, fmt(LIMIT), "met" if not over else "not met: " + ", ".join(
                "`%s` %s (%s over)" % (e, fmt(v), fmt(v - LIMIT)) for e, v in over)))
    return out


def render_painted_table(out, p):
    L = ["| entry point | " + " | ".join("%s, static | %s, painted" % (l, l) for _, l in PAINT_HASHES) + " |",
         "|---|" + "---:|" * (2 * len(PAINT_HASHES))]
    for e in PAINTED_ENTRIES:
        if not any((e, h) in p for h, _ in PAINT_HASHES):
            continue
        cells = []
        for h, _ in PAINT_HASHES:
            st = out.get((e, "m4", h))
            cells.append("—" if st is None else "%d%s" % (st[0], " +cb" if "callback" in st[1] else ""))
            cells.append(str(p[(e, h)][0]) if (e, h) in p else "—")
        L.append("| `%s` | %s |" % (e, " | ".join(cells)))
    return "\n".join(L) + "\n"


def render_painted(out, m, header):
    p = painted(m)
    L = render_painted_table(out, p).rstrip("\n").split("\n")
    L.append("")
    L.append("Targets (painted, Cortex-M4F -Os): " + "; ".join(painted_targets(p)) + ".")
    per = []
    for h, label in PAINT_HASHES:
        worst = {}
        for im in m["images"].values():
            if im["arch"] == "m4f" and im["hash"] == h:
                for e, v in im["stack"].items():
                    if e.startswith("icbu_sign_body/") and isinstance(v, int):
                        worst[e.split("/")[1]] = max(worst.get(e.split("/")[1], 0), v)
        if worst:
            per.append("%s: %s" % (label, ", ".join("%s %d" % kv for kv in sorted(worst.items()))))
    imgs = {}
    order = {"sign": 0, "client": 1, "full": 2}
    for name, im in sorted(m["images"].items(), key=lambda kv: order.get(kv[1]["config"], 9)):
        if im["arch"] == "m4f":
            imgs.setdefault(im["hash"], []).append(im["config_label"])
    which = "; ".join("%s: %s" % (label, ", ".join(imgs[h])) for h, label in PAINT_HASHES if h in imgs)
    L.append("")
    L.append("Painted: the peak one call used on the emulated Cortex-M4F, the deepest over the images of "
             "[firmware.md](firmware.md) with that hash that call it (%s; the custom hash is "
             "`tests/firmware/fw_hash.c`, mbedTLS its own `md5.c` and `sha256.c`), on their inputs: the example order; for `icbu_exchange` the deepest of three "
             "answers (accepted, refused, platform error), for `icbu_report` a 503 and then an acceptance; "
             "the transport's callbacks (the images' in-memory transport, a few bytes) included. "
             "`icbu_sign_body` is the deepest of its three sign methods and of hmac-sha256 with `NULL` for the `icbu_err` (no-err) (%s). Static: this script's worst "
             "case over every path, as in the table above (`+cb`: plus your callbacks); for the custom hash "
             "the same analysis over `tests/firmware/fw_hash.c`. The two differ in two ways: the painted run "
             "takes one path, the static figure the deepest of all; and the images compile each "
             "configuration on its own, the static analysis the whole library once (both with "
             "`-ffunction-sections`), so GCC may inline differently. `make test` fails when a painted "
             "figure is above its static one: the static analysis would then miss something."
             % (which, "; ".join(per)))
    L.append("")
    L.append("Measured on %s (painted: `tools/firmware.py`, QEMU %s). `make test` checks the custom hash's "
             "static and both painted columns against this page: at most %s over the figure published "
             "here, a target above is a budget once it is met (tools/budget.py), and painted is at most "
             "static. `make docs` rewrites the page." % (budget.header_id(header), m["versions"]["qemu"],
                                                         budget.STACK_RULE))
    return "\n".join(L) + "\n"


def check_painted(b, page, out, m, why):
    """The painted peaks and the custom hash's static figures against the page's
    stack-painted table, and the targets once met; the number of figures checked."""
    if m is None:
        b.fail("painted stack", why)
        return 0
    pub = budget.published_or_fail(b, page, "stack-painted", "make docs-stack")
    if pub is None:
        return 0
    published, bad = budget.cells(pub, lambda c: 0 if c == "—" else cell_bytes(c), b.who, page)
    for msg in bad:
        b.fail(page, msg)
    p = painted(m)
    n = 0
    for e in PAINTED_ENTRIES:
        for h, label in PAINT_HASHES:
            if (e, h) not in p:
                if h == "custom" or e in ("icbu_sign_body", "icbu_exchange", "icbu_report"):
                    b.fail("`%s`, %s, painted" % (e, label), "no Cortex-M4F image measured it")
                continue
            figs = [("%s, painted" % label, p[(e, h)][0], paint_target(e, h), p[(e, h)][2])]
            if h == "custom" and (e, "m4", h) in out:
                figs.append(("%s, static" % label, out[(e, "m4", h)][0], None, True))
            st = out.get((e, "m4", h))
            if st is not None:
                if p[(e, h)][0] <= st[0]:
                    b.ok("`%s`, %s: painted %d within static %d" % (e, label, p[(e, h)][0], st[0]))
                else:
                    b.fail("`%s`, %s: painted within static" % (e, label),
                           "painted %d > static %d: the static analysis misses a frame%s, or the images compile "
                           "otherwise than tools/stack.py" % (p[(e, h)][0], st[0], " (or the in-memory transport's "
                                                              "callbacks, which it leaves out, are the deepest)"
                                                              if "callback" in st[1] else ""))
            for col, got, lim, ok in figs:
                what = "`%s`, %s" % (e, col)
                if not ok:
                    b.fail(what, "an image that measured it failed its checks (`make test-firmware` says which)")
                    continue
                key = ("`%s`" % e, col)
                pubv = published.get(key)
                b.figure(what, got, pubv or None, budget.stack_tolerance(pubv), lim,
                         " (the issue's target)" if lim else "")
                n += 1
    for line in painted_targets(p):
        print("# target: %s" % line.replace("`", ""))
    return n


def check_budget(page, table, out, m, why):
    """Every measured figure against the page's tables (tools/budget.py)."""
    b = budget.Budget("stack.py")
    n = check_painted(b, page, out, m, why)
    got = budget.page_and_measured(b, page, "stack-table", table, cell_bytes)
    if got is None:
        return b.finish()
    published, mine = got
    arm = [t["label"] for t in targets() if t["arm"]]

    def target(row, col):
        if any(col.startswith(a + ",") for a in arm):
            return LIMIT, " (%d bytes per entry point on Cortex-M4F)" % LIMIT
        return None, ""

    budget.compare(b, mine, published, budget.stack_tolerance, target)
    return b.finish("%d static and %d painted-table figures measured against %s (tolerance: %s)"
                    % (len(mine), n, page, budget.STACK_RULE))


BACKEND_VERSIONS = {}
HEADER = [os.path.join(ROOT, "icbu_reflow.h")]   # the header measured (--header)
PRUNED = set()     # the hash modules whose dispatch arms were left out
PSA_ALGS = set()   # the PSA_ALG_* the implementation selects
MODULE_NAME = {"md2": "MD2", "md4": "MD4", "md5": "MD5", "ripemd160": "RIPEMD-160",
               "sha1": "SHA-1", "sha256": "SHA-224/256", "sha512": "SHA-384/512"}


def cc_version(cc):
    out = run([cc, "--version"]).splitlines()[0]
    m = re.search(r"(\d+\.\d+\.\d+)", out)
    return m.group(1) if m else out


def backend_versions(src_root):
    for be, pat in (("mbedtls", "mbedtls_*.dsc"), ("bearssl", "bearssl_*.dsc")):
        f = sorted(glob.glob(os.path.join(src_root, pat)))
        if f:
            BACKEND_VERSIONS[be] = re.sub(r"^%s_(.*)\.dsc$" % be, r"\1", os.path.basename(f[-1]))
        else:
            BACKEND_VERSIONS[be] = "(source)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", metavar="FILE")
    g.add_argument("--write", metavar="FILE")
    g.add_argument("--budget", metavar="FILE", help="check the figures against the table in FILE")
    ap.add_argument("--verbose", action="store_true", help="print the worst chain of each cell")
    ap.add_argument("--header", default=os.path.join(ROOT, "icbu_reflow.h"))
    build_root = os.environ.get("BUILD", os.path.join(ROOT, "build"))
    ap.add_argument("--build", default=os.path.join(build_root, "stack"))
    ap.add_argument("--backend-src", default=os.environ.get("BACKEND_SRC", os.path.join(build_root, "backend-src")))
    ap.add_argument("--measured", default=os.path.join(build_root, "firmware-measured.json"),
                    help="the linked images' measurements (tools/firmware.py; default %(default)s)")
    a = ap.parse_args()
    m, why = budget.linked_measurements(a.measured, a.header)
    if m is not None and a.write and m.get("failed"):
        m, why = None, "%d check(s) of the firmware run failed (`make test-firmware` says which)" % m["failed"]
    if why and (a.write or a.check):
        sys.stderr.write("stack.py: no painted figures: %s\n" % why)
        sys.exit(1)
    ENTRIES[:] = public_functions(a.header)
    HEADER[0] = a.header
    a.build = os.path.abspath(a.build)
    a.backend_src = os.path.abspath(a.backend_src)
    os.makedirs(a.build, exist_ok=True)
    backend_versions(a.backend_src)
    out, ctx, chains, depth, wide = measure(a.header, a.backend_src, a.build)
    table, _ = render(out, ctx, depth, wide, chains)
    if a.verbose:
        for k in sorted(chains):
            print("%s %s %s: %d\n    %s" % (k[0], k[1], k[2], out[k][0], "\n    ".join(chains[k])))
        print()
    if a.budget:
        sys.exit(check_budget(a.budget, table, out, m, why))
    paint = render_painted(out, m, a.header) if m is not None else "(no painted figures: %s)\n" % why
    if not (a.check or a.write):
        sys.stdout.write(table + "\n" + paint)
        return
    ok = readme_block.sync(a.check or a.write, "stack-table", "\n" + table, bool(a.write), "stack.py")
    ok = readme_block.sync(a.check or a.write, "stack-painted", "\n" + paint, bool(a.write), "stack.py") and ok
    if a.write and m is not None:     # the README's line on the targets: written, never compared
        readme_block.sync(os.path.join(ROOT, "README.md"), "stack-targets",
                          "\nStack (painted, Cortex-M4F -Os): %s.\n" % "; ".join(painted_targets(painted(m))),
                          True, "stack.py")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
