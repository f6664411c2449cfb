#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""One link of the weights broadcast chain (vacc.qwen3.model_download, model_download_strategy: broadcast).

Copied to every host of the chain; Python 3.8+ standard library only. The seed's checkpoint is cut into
pieces (a fixed size per file); the seed hashes each piece (sha256) into its journal; every other host
pulls each piece from its predecessor in the chain as soon as the predecessor's journal lists it,
checks the sha256, writes it at its offset and lists it in its own journal, so its successor can take it.
Every host sends the checkpoint about once, and the whole chain finishes about S/B after the seed starts.

    relay prepare DIR --run R [--seed --piece-bytes N] [--install PATH]
                                                     before any relay starts: the seed describes DIR (the
                                                     manifest: files, sizes, mtimes); which manifest does each
                                                     host hold, is its copy complete? (JSON)
    relay check DIR --manifest-id ID                 is DIR a complete copy of that manifest? (JSON)
    relay run DIR --run R --host NAME (--seed | --manifest-id ID --upstreams JSON) [--detach] [...]
                                                     seed: hash its pieces; receiver: take the manifest from its
                                                     upstream, then fetch the missing pieces (--detach: in the
                                                     background, output to relay.log; progress.json says how it ended)
    relay serve DIR                                  on an upstream, spawned over ssh: hand out verified pieces
    relay probe DIR                                  this host's progress and whether its relay runs (JSON)
    relay status --peers JSON [--ssh JSON]           every peer's probe, fetched over ssh (JSON)

State lives in DIR/.vacc-relay/ (hidden: model_verify's fingerprint and the rsync of strategy once
leave it out): manifest.json (made once, on the seed; the others take it along the chain), journal
(JSON lines: which pieces are verified here, with their sha256),
progress.json (what `status` shows), prepared.json (the run this host takes part in), lock (held by a
running relay), partial/ (files not complete yet: a checkpoint never looks complete before it is).
"""

from __future__ import annotations

import argparse
import collections
import fcntl
import hashlib
import json
import os
import select
import shlex
import subprocess
import sys
import threading
import time

STATE_DIR = ".vacc-relay"
PROTOCOL = "1"
# Download state the rsync of strategy once leaves out too (.vacc-relay is this relay's own).
EXCLUDED_DIRS = frozenset((STATE_DIR, ".hfd", ".cache", ".git"))
EXCLUDED_SUFFIXES = (".aria2",)
KEEPALIVE_S = 1.0  # an upstream says WAIT this often while it has no piece to give yet
JOURNAL_POLL_S = 0.02  # how often a waiting upstream looks for a newly verified piece (one stat)
LIVENESS_EVERY_S = 0.5  # how often it checks that its relay still runs
PROGRESS_EVERY_S = 0.5
RATE_WINDOW_S = 5.0
LOCK_TRIES_S = 2.0  # a probe holds the lock for microseconds; the relay retries that long


class RelayError(Exception):
    """One sentence: what failed and what fixes it."""


# --------------------------------------------------------------------------------- pure: the layout
def pieces_of(files, piece_bytes):
    """[(file index, offset, length)] of `files` ([{"path", "size"}], in manifest order) cut into
    `piece_bytes` pieces; the last piece of a file is shorter, an empty file has none."""
    if piece_bytes < 1:
        raise RelayError("the piece size must be at least 1 byte, not %d" % piece_bytes)
    out = []
    for index, entry in enumerate(files):
        offset = 0
        while offset < entry["size"]:
            length = min(piece_bytes, entry["size"] - offset)
            out.append((index, offset, length))
            offset += length
    return out


def manifest_id(body):
    """The manifest's identity: its canonical JSON (files with size and mtime, piece size) hashed."""
    core = {"version": body["version"], "piece_bytes": body["piece_bytes"], "files": body["files"]}
    return hashlib.sha256(json.dumps(core, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def build_manifest(files, piece_bytes):
    """The manifest of `files` ([{"path", "size", "mode", "mtime_ns"}], sorted by path)."""
    body = {"version": 1, "piece_bytes": int(piece_bytes), "files": [dict(f) for f in files]}  # its own copy
    body["id"] = manifest_id(body)
    body["bytes"] = sum(f["size"] for f in files)
    body["pieces"] = len(pieces_of(files, piece_bytes))
    return body


def check_manifest(manifest):
    """Refuse a manifest whose paths would leave the destination (it comes from another host)."""
    for entry in manifest["files"]:
        path = entry["path"]
        parts = path.split("/")
        if path.startswith("/") or not path or any(p in ("", ".", "..") for p in parts) or parts[0] == STATE_DIR:
            raise RelayError(
                "the manifest names %r, which is not a plain path inside the checkpoint; "
                "remake it on the seed (relay manifest)" % path
            )
    if manifest_id(manifest) != manifest["id"]:
        raise RelayError("the manifest's content does not match its id %s; remake it on the seed" % manifest["id"][:12])


def carry(old, new, verified):
    """Pieces of the `old` manifest verified here ({k: sha}) that are still valid under `new`: same file,
    same offset and length, and the seed's file unchanged (same size and mtime, rsync's quick check).
    Returns {new k: sha}."""
    if old is None:
        return {}
    if old["id"] == new["id"]:
        return dict(verified)
    unchanged = {}
    for f in new["files"]:
        unchanged[f["path"]] = (f["size"], f["mtime_ns"])
    old_files = old["files"]
    where = {}
    for k, (index, offset, length) in enumerate(pieces_of(old_files, old["piece_bytes"])):
        f = old_files[index]
        if unchanged.get(f["path"]) == (f["size"], f["mtime_ns"]) and k in verified:
            where[(f["path"], offset, length)] = verified[k]
    out = {}
    for k, (index, offset, length) in enumerate(pieces_of(new["files"], new["piece_bytes"])):
        sha = where.get((new["files"][index]["path"], offset, length))
        if sha is not None:
            out[k] = sha
    return out


def read_journal_lines(lines):
    """Parse journal lines: (manifest id, {k: sha} verified, last end record or None, bad after it).
    A torn last line (a relay killed mid-write) is ignored; a `bad` record removes a piece."""
    manifest, verified, end, bad_after_end = None, {}, None, False
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict):
            continue
        if "manifest" in rec:
            if rec["manifest"] != manifest:
                manifest, verified, end, bad_after_end = rec["manifest"], {}, None, False
        elif "k" in rec and "sha" in rec:
            verified[int(rec["k"])] = rec["sha"]
        elif "bad" in rec:
            verified.pop(int(rec["bad"]), None)
            bad_after_end = bad_after_end or end is not None
        elif "end" in rec:
            end, bad_after_end = rec, False
        elif "start" in rec:
            end = None  # a relay started after that end: only its own end counts
    return manifest, verified, end, bad_after_end


def rate(samples, now, window=RATE_WINDOW_S):
    """Bytes per second over the last `window` seconds of (time, cumulative bytes) samples."""
    recent = [s for s in samples if now - s[0] <= window]
    if len(recent) < 2 or recent[-1][0] <= recent[0][0]:
        return 0.0
    return (recent[-1][1] - recent[0][1]) / (recent[-1][0] - recent[0][0])


# --------------------------------------------------------------------------------- files
def state_path(root, *names):
    return os.path.join(root, STATE_DIR, *names)


def scan(root):
    """[{"path", "size", "mode", "mtime_ns"}] of what a copy of `root` holds, sorted by path; download
    state (hidden .vacc-relay .hfd .cache .git, *.aria2) is left out, as strategy once's rsync does."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS)
        for name in sorted(filenames):
            if name.endswith(EXCLUDED_SUFFIXES):
                continue
            full = os.path.join(dirpath, name)
            st = os.stat(full)  # a symlink is distributed as the file it names
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            out.append({"path": rel, "size": st.st_size, "mode": st.st_mode & 0o7777, "mtime_ns": st.st_mtime_ns})
    return sorted(out, key=lambda f: f["path"])


def write_json(path, data):
    """Atomically: a reader sees the old or the new file, never half of one."""
    tmp = "%s.tmp.%d.%d" % (path, os.getpid(), threading.get_ident())
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def read_json(path, default=None):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def read_journal(root):
    try:
        with open(state_path(root, "journal"), encoding="utf-8") as f:
            return read_journal_lines(f)
    except OSError:
        return None, {}, None, False


def file_stat(root, path):
    """(where, size, mtime_ns) of a manifest file here: 'final' in place, 'partial' under .vacc-relay."""
    for where, full in (("final", os.path.join(root, path)), ("partial", state_path(root, "partial", path))):
        try:
            st = os.stat(full)
        except FileNotFoundError:
            continue
        return where, st.st_size, st.st_mtime_ns
    return None


def read_piece(root, files, pieces, k):
    """Piece k's bytes from the file in place or under partial/ (a rename between the two is atomic,
    so one of them has it), or None when neither holds all of them."""
    index, offset, length = pieces[k]
    path = files[index]["path"]
    for full in (os.path.join(root, path), state_path(root, "partial", path), os.path.join(root, path)):
        try:
            with open(full, "rb") as f:
                f.seek(offset)
                data = f.read(length)
        except OSError:
            continue
        if len(data) == length:
            return data
    return None


def relay_alive(root):
    """Does a relay hold this copy's lock? (a shared lock cannot be had while it holds the exclusive one)"""
    try:
        fd = os.open(state_path(root, "lock"), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def ensure_state(root):
    os.makedirs(state_path(root, "partial"), exist_ok=True)


# --------------------------------------------------------------------------------- manifest / check / prepare
def seed_manifest(root, piece_bytes):
    """The seed describes its copy: (manifest, changed?), installed as this copy's manifest."""
    if not os.path.isdir(root):
        raise RelayError("%s is not a directory; the seed must hold the checkpoint before it is broadcast" % root)
    ensure_state(root)
    manifest = build_manifest(scan(root), piece_bytes)
    if not manifest["files"]:
        raise RelayError("%s holds no file to broadcast" % root)
    old = read_json(state_path(root, "manifest.json"))
    changed = old is None or old.get("id") != manifest["id"]
    if changed:
        install_manifest(root, old, manifest)
    return manifest, changed


def install_manifest(root, old, new):
    """Make `new` this copy's manifest; pieces verified under `old` that `new` keeps stay verified."""
    jm, verified, end, _bad = read_journal(root)
    kept = carry(old if old and old.get("id") == jm else None, new, verified)
    journal = state_path(root, "journal")
    tmp = journal + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps({"manifest": new["id"]}) + "\n")
        for k in sorted(kept):
            f.write(json.dumps({"k": k, "sha": kept[k]}) + "\n")
        if end is not None:  # the file stats it recorded still tell whether the carried pieces can be trusted
            f.write(json.dumps({"end": "carried", "stats": end.get("stats", {})}) + "\n")
        f.flush()
        os.fsync(f.fileno())
    write_json(state_path(root, "manifest.json"), new)
    os.replace(tmp, journal)


def completeness(root, manifest_id_wanted):
    """(complete?, reason, verified bytes): complete when the journal of that manifest ended `done` with
    every file in place as it left it and no piece found bad since."""
    manifest = read_json(state_path(root, "manifest.json"))
    if manifest is None or not manifest_id_wanted or manifest.get("id") != manifest_id_wanted:
        return False, "no copy of this manifest here yet", 0
    jm, verified, end, bad = read_journal(root)
    ks = pieces_of(manifest["files"], manifest["piece_bytes"])
    done_bytes = sum(ks[k][2] for k in verified if k < len(ks))
    if jm != manifest["id"]:
        return False, "the journal belongs to another manifest", 0
    if end is None or end.get("end") != "done":
        return False, "%d of %d pieces verified" % (len(verified), len(ks)), done_bytes
    if bad:
        return False, "a piece failed verification while it was being forwarded", done_bytes
    stats = end.get("stats", {})
    for f in manifest["files"]:
        st = file_stat(root, f["path"])
        if st is None or st[0] != "final" or list(st) != stats.get(f["path"]):
            return False, "%s changed since it was verified" % f["path"], done_bytes
    return True, "complete", done_bytes


def cmd_check(args):
    root = os.path.abspath(args.dir)
    complete, reason, done = completeness(root, args.manifest_id)
    print(json.dumps({"complete": complete, "reason": reason, "bytes_done": done, "relay_running": relay_alive(root)}))
    return 0


def cmd_prepare(args):
    """On every host of the chain before any relay starts. The seed describes its copy (the manifest);
    every host says which manifest it holds and whether its copy of it is complete, and is marked as
    taking part in run R, so that a successor asking it before its relay starts waits instead of
    skipping it (a complete copy serves every piece anyway)."""
    root = os.path.abspath(args.dir)
    changed = False
    if args.seed:
        manifest, changed = seed_manifest(root, args.piece_bytes)
    else:
        os.makedirs(root, exist_ok=True)
        ensure_state(root)
        manifest = read_json(state_path(root, "manifest.json")) or {}
    complete, reason, done = completeness(root, manifest.get("id"))
    write_json(state_path(root, "prepared.json"), {"run": args.run, "at": time.time()})
    installed = install_self(args.install) if args.install else False
    print(
        json.dumps(
            {
                "manifest": manifest.get("id"),
                "manifest_changed": changed,
                "bytes": manifest.get("bytes"),
                "pieces": manifest.get("pieces"),
                "piece_bytes": manifest.get("piece_bytes"),
                "complete": complete and not args.rehash,
                "reason": reason,
                "bytes_done": done,
                "relay_installed": installed,
            }
        )
    )
    return 0


def install_self(path):
    """The role runs `prepare` as a script it sends along; the same file becomes the relay at `path` (what
    `run` and the ssh-spawned `serve` use) when the one there is missing or another version. Changed?"""
    with open(os.path.abspath(__file__), "rb") as f:
        own = f.read()
    try:
        with open(path, "rb") as f:
            if f.read() == own:
                return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(own)
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)
    return True


# --------------------------------------------------------------------------------- a link to an upstream
class LinkDown(Exception):
    """The upstream went away (exited, stalled, or said GONE)."""


class Link:
    """`relay serve` on an upstream, over ssh (or locally when there is no ssh command), driven through
    its stdin/stdout; reads have a stall deadline, so a hung upstream is noticed."""

    def __init__(self, upstream, opts, errlog):
        remote = [opts.python, opts.relay, "serve", upstream["dir"]]
        if opts.ssh and upstream.get("address"):
            argv = list(opts.ssh) + [upstream["address"], " ".join(shlex.quote(a) for a in remote)]
        else:
            argv = remote
        self.name = upstream["name"]
        self.stall = opts.stall_timeout
        self.err = open(errlog, "ab")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
            stderr=self.err,
            bufsize=0,
        )
        self.fd = self.proc.stdout.fileno()
        self.buf = bytearray()

    def send(self, line):
        try:
            self.proc.stdin.write(line.encode() + b"\n")
        except (BrokenPipeError, OSError) as exc:
            raise LinkDown("%s closed the connection (%s)" % (self.name, self.reason(exc))) from exc

    def _wait_readable(self):
        """Wait at most the stall timeout for bytes. A freeze of this host (its clock runs on) is not taken
        for a stalled upstream: one more short wait after a timeout."""
        for wait in (self.stall, 1.0):
            ready, _w, _x = select.select([self.fd], [], [], wait)
            if ready:
                return
        raise LinkDown("%s sent nothing for %gs" % (self.name, self.stall))

    def _fill(self):
        self._wait_readable()
        data = os.read(self.fd, 65536)
        if not data:
            raise LinkDown("%s closed the connection (%s)" % (self.name, self.reason()))
        self.buf += data

    def readline(self):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i]).decode()
                del self.buf[: i + 1]
                return line
            self._fill()

    def read_into(self, length, digest):
        """The next `length` bytes, read straight into one buffer and hashed as they arrive (no copies
        beyond the kernel's: on a shared CPU they cost the link rate)."""
        out = bytearray(length)
        view = memoryview(out)
        have = min(len(self.buf), length)
        if have:
            view[:have] = self.buf[:have]
            digest.update(view[:have])
            del self.buf[:have]
        while have < length:
            self._wait_readable()
            n = os.readv(self.fd, [view[have:]])
            if n == 0:
                raise LinkDown("%s closed the connection (%s)" % (self.name, self.reason()))
            digest.update(view[have : have + n])
            have += n
        return out

    def reason(self, exc=None):
        code = self.proc.poll()
        try:
            with open(self.err.name, "rb") as f:
                f.seek(max(0, os.path.getsize(self.err.name) - 400))
                tail = f.read().decode(errors="replace").strip().splitlines()
        except OSError:
            tail = []
        if tail:
            return tail[-1]
        if code is not None:
            return "exit %d" % code
        return str(exc) if exc else "no reason given"

    def close(self):
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.err.close()


def open_link(upstream, opts, manifest_id, errlog):
    """A link to `relay serve` on `upstream`, past its HELLO (it may say WAIT while it takes the manifest)."""
    link = Link(upstream, opts, errlog)
    try:
        link.send("HELLO %s %s %s %g" % (PROTOCOL, manifest_id, opts.run, opts.start_grace))
        while True:
            answer = link.readline().split(" ", 1)
            if answer[0] != "WAIT":
                break
    except LinkDown:
        link.close()
        raise
    if answer[0] != "OK":
        link.close()
        raise LinkDown("%s: %s" % (upstream["name"], answer[1] if len(answer) > 1 else " ".join(answer)))
    return link


def fetch_manifest(root, opts):
    """A receiver takes the seed's manifest from the first upstream that holds it (nearest first); the
    id the role passed checks it. Pieces verified under an earlier manifest that it keeps stay verified."""
    have = read_json(state_path(root, "manifest.json"))
    if have is not None and have.get("id") == opts.manifest_id:
        return
    reasons = []
    for upstream in opts.upstreams:
        try:
            link = open_link(upstream, opts, opts.manifest_id, state_path(root, "manifest.err"))
        except (LinkDown, OSError) as exc:
            reasons.append(str(exc))
            continue
        try:
            link.send("MANIFEST")
            words = link.readline().split()
            if len(words) != 2 or words[0] != "MANIFEST":
                raise LinkDown("%s answered %r to MANIFEST" % (upstream["name"], " ".join(words)))
            manifest = json.loads(bytes(link.read_into(int(words[1]), hashlib.sha256())).decode())
        except (LinkDown, ValueError) as exc:
            reasons.append(str(exc))
            continue
        finally:
            link.close()
        check_manifest(manifest)
        if manifest["id"] != opts.manifest_id:
            reasons.append("%s holds manifest %s" % (upstream["name"], manifest["id"][:12]))
            continue
        install_manifest(root, have, manifest)
        return
    raise RelayError(
        "no upstream gave manifest %s (%s); rerun when the seed %s answers"
        % (opts.manifest_id[:12], "; ".join(reasons), opts.upstreams[-1]["name"])
    )


# --------------------------------------------------------------------------------- the relay
class Relay:
    """Fetch (receiver) or hash (seed) every piece not verified here yet, journal each one, keep
    progress.json current, put each file in place when its last piece is verified."""

    def __init__(self, root, opts):
        self.root, self.opts = root, opts
        self.manifest = read_json(state_path(root, "manifest.json"))
        if self.manifest is None:
            raise RelayError("%s has no manifest; run `relay prepare` (the role does) before `relay run`" % root)
        check_manifest(self.manifest)
        self.files = self.manifest["files"]
        self.pieces = pieces_of(self.files, self.manifest["piece_bytes"])
        self.lock = threading.Condition()
        self.verified = {}  # k -> sha, verified here
        self.todo = collections.deque()  # pieces to fetch from the current upstream
        self.fallback = collections.deque()  # (k, first upstream index to ask) after a BAD answer
        self.in_flight = set()
        self.file_left = [0] * len(self.files)  # pieces of each file not verified yet
        self.fds = {}
        self.upstreams = list(opts.upstreams or [])
        self.dead = {}  # upstream index -> reason
        self.primary = 0
        self.error = None
        self.refetched = 0
        self.bytes_received = 0
        self.bytes_reused = 0
        self.samples = collections.deque(maxlen=200)
        self.started_at = time.time()
        self.finished_at = None
        self.state = "starting"
        self.journal = None
        self._fallback_thread = None

    # ---- bookkeeping
    def progress(self):
        with self.lock:
            done_bytes = sum(self.pieces[k][2] for k in self.verified)
            now = time.time()
            speed = rate(self.samples, now)
            total = self.manifest["bytes"]
            up = None if self.opts.seed or self.primary >= len(self.upstreams) else self.upstreams[self.primary]["name"]
            return {
                "host": self.opts.host,
                "role": "seed" if self.opts.seed else "receiver",
                "state": self.state,
                "manifest": self.manifest["id"],
                "run": self.opts.run,
                "pid": os.getpid(),
                "upstream": up,
                "skipped": [self.upstreams[i]["name"] + ": " + r for i, r in sorted(self.dead.items())],
                "bytes_total": total,
                "bytes_done": done_bytes,
                "bytes_received": self.bytes_received,
                "bytes_reused": self.bytes_reused,
                "pieces_total": len(self.pieces),
                "pieces_done": len(self.verified),
                "refetched": self.refetched,
                "rate_bps": round(speed, 1),
                "eta_s": round((total - done_bytes) / speed, 1) if speed > 0 and self.state == "running" else None,
                "started_at": self.started_at,
                "updated_at": now,
                "finished_at": self.finished_at,
                "error": self.error,
            }

    def write_progress(self):
        write_json(state_path(self.root, "progress.json"), self.progress())

    def journal_write(self, rec):
        line = json.dumps(rec) + "\n"
        self.journal.write(line)
        self.journal.flush()  # other processes (serve) read it at once; durability comes with the end record

    # ---- start: what is already here
    def trusted_pieces(self):
        """Pieces of this manifest verified here before: ({k: sha} trusted, count dropped). Trusted as they
        are when the last relay ended cleanly and their file is as it left it (the seed: as the manifest
        describes it); otherwise hashed again from the disk, which costs a local read, no network."""
        jm, verified, end, _bad = read_journal(self.root)
        if jm != self.manifest["id"]:
            verified = {}
        stats = end.get("stats", {}) if end else {}
        trusted, recheck = {}, {}
        for k, sha in verified.items():
            if k >= len(self.pieces):
                continue
            f = self.files[self.pieces[k][0]]
            st = file_stat(self.root, f["path"])
            if self.opts.seed:
                same = st is not None and st[0] == "final" and (st[1], st[2]) == (f["size"], f["mtime_ns"])
            else:
                same = end is not None and st is not None and list(st) == stats.get(f["path"])
            (trusted if same and not self.opts.rehash else recheck)[k] = sha
        for k, sha in sorted(recheck.items()):
            data = self.read_local(k)
            if data is not None and hashlib.sha256(data).hexdigest() == sha:
                trusted[k] = sha
        return trusted, len(verified) - len(trusted)

    def open_journal(self, trusted):
        """The journal compacted to what is trusted now, then this run's start record; serve processes
        following it notice the new file and read it again."""
        path = state_path(self.root, "journal")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps({"manifest": self.manifest["id"]}) + "\n")
            for k in sorted(trusted):
                f.write(json.dumps({"k": k, "sha": trusted[k]}) + "\n")
            f.write(
                json.dumps({"start": self.opts.run, "host": self.opts.host, "pid": os.getpid(), "at": time.time()})
                + "\n"
            )
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        self.journal = open(path, "a", encoding="utf-8")  # pylint: disable=consider-using-with

    def read_local(self, k):
        return read_piece(self.root, self.files, self.pieces, k)

    def place_files(self):
        """A file with pieces to fetch moves to partial/ (so the checkpoint does not look complete) at its
        final size; a complete one stays in place (or goes there: a run stopped just before the rename)."""
        for index, f in enumerate(self.files):
            final = os.path.join(self.root, f["path"])
            partial = state_path(self.root, "partial", f["path"])
            if self.file_left[index] == 0:
                if not os.path.exists(final):
                    if not os.path.exists(partial):  # an empty file: no piece carries it
                        os.makedirs(os.path.dirname(partial), exist_ok=True)
                        open(partial, "wb").close()  # pylint: disable=consider-using-with
                    self.finish_file(index)
                continue
            os.makedirs(os.path.dirname(partial), exist_ok=True)
            if os.path.exists(final):
                os.replace(final, partial)
            fd = os.open(partial, os.O_RDWR | os.O_CREAT, 0o644)
            if os.fstat(fd).st_size != f["size"]:
                os.ftruncate(fd, f["size"])
            self.fds[index] = fd

    def finish_file(self, index):
        """All pieces verified: flush, the seed's mode and mtime, then into place (atomic rename)."""
        f = self.files[index]
        partial = state_path(self.root, "partial", f["path"])
        final = os.path.join(self.root, f["path"])
        fd = self.fds.pop(index, None)
        if fd is None:
            fd = os.open(partial, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(partial, f["mode"])
        os.utime(partial, ns=(f["mtime_ns"], f["mtime_ns"]))
        os.makedirs(os.path.dirname(final) or self.root, exist_ok=True)
        os.replace(partial, final)

    def remove_extras(self):
        """Files the seed does not have go, as rsync --delete does for strategy once; download state stays."""
        wanted = {f["path"] for f in self.files}
        for f in scan(self.root):
            if f["path"] not in wanted:
                os.unlink(os.path.join(self.root, f["path"]))

    def end_record(self, how):
        stats = {}
        for f in self.files:
            st = file_stat(self.root, f["path"])
            if st is not None:
                stats[f["path"]] = list(st)
        self.journal_write({"end": how, "stats": stats, "at": time.time()})
        os.fsync(self.journal.fileno())

    # ---- the work
    def accept(self, k, data, sha, received):
        """A verified piece: written at its offset, journaled, its file put in place when complete."""
        index, offset, _length = self.pieces[k]
        if not self.opts.seed:
            os.pwrite(self.fds[index], data, offset)
        with self.lock:
            if k in self.verified:
                return
            self.verified[k] = sha
            self.in_flight.discard(k)
            self.journal_write({"k": k, "sha": sha, "run": self.opts.run})
            if received:
                self.bytes_received += len(data)
                self.samples.append((time.time(), self.bytes_received))
            self.file_left[index] -= 1
            last = self.file_left[index] == 0
            self.lock.notify_all()
        if last and not self.opts.seed:
            self.finish_file(index)

    def take(self):
        """The next piece for a stream bound to the primary upstream, or None when nothing is left."""
        with self.lock:
            while True:
                if self.error or self.all_done():
                    return None
                if self.todo:
                    k = self.todo.popleft()
                    self.in_flight.add(k)
                    return k
                if not self.in_flight and not self.fallback:
                    return None
                self.lock.wait(1.0)

    def all_done(self):
        return len(self.verified) == len(self.pieces)

    def give_back(self, ks):
        with self.lock:
            for k in reversed(list(ks)):
                if k not in self.verified:
                    self.in_flight.discard(k)
                    self.todo.appendleft(k)
            self.lock.notify_all()

    def upstream_failed(self, index, reason):
        with self.lock:
            if index not in self.dead:
                self.dead[index] = reason
                log("upstream %s skipped: %s" % (self.upstreams[index]["name"], reason))
            while self.primary < len(self.upstreams) and self.primary in self.dead:
                self.primary += 1
            if self.primary >= len(self.upstreams) and not self.error:
                self.error = "no upstream can give the missing pieces (%s); rerun when the seed %s answers" % (
                    "; ".join("%s: %s" % (self.upstreams[i]["name"], r) for i, r in sorted(self.dead.items())),
                    self.upstreams[-1]["name"],
                )
            self.lock.notify_all()

    def hash_worker(self):
        """Seed: a piece's sha256 is the truth every host checks against."""
        while True:
            k = self.take()
            if k is None:
                return
            data = self.read_local(k)
            if data is None:
                with self.lock:
                    self.error = (
                        "%s is shorter than when the manifest was made; the seed's copy changed under the "
                        "broadcast, rerun the play" % self.files[self.pieces[k][0]]["path"]
                    )
                    self.lock.notify_all()
                return
            self.accept(k, None if self.opts.seed else data, hashlib.sha256(data).hexdigest(), received=False)

    def connect(self, index, errlog):
        up = self.upstreams[index]
        return open_link(up, self.opts, self.opts.manifest_id, errlog)

    def stream_worker(self, number):
        """One SSH stream: keeps `window` requests outstanding on the primary upstream, verifies each piece
        as it arrives; a failed upstream is skipped for the next one up the chain."""
        errlog = state_path(self.root, "stream-%d.err" % number)
        while True:
            with self.lock:
                if self.error or self.all_done():
                    return
                index = self.primary
            if index >= len(self.upstreams):
                return
            try:
                link = self.connect(index, errlog)
            except LinkDown as exc:
                self.upstream_failed(index, str(exc))
                continue
            except OSError as exc:
                self.upstream_failed(index, "cannot start the link: %s" % exc)
                continue
            outstanding = collections.deque()
            try:
                self.pump(link, index, outstanding)
            except LinkDown as exc:
                self.upstream_failed(index, str(exc))
            finally:
                link.close()
                self.give_back(outstanding)

    def pump(self, link, index, outstanding):
        while True:
            while len(outstanding) < self.opts.window:
                k = self.take() if not outstanding else self.take_nowait()
                if k is None:
                    break
                outstanding.append(k)  # before anything can fail: whatever is outstanding is given back
                with self.lock:
                    moved = index in self.dead
                if moved:  # another stream found this upstream dead while this one waited for work
                    return
                link.send("WANT %d" % k)
            if not outstanding:
                return
            self.answer(link, index, outstanding)

    def take_nowait(self):
        with self.lock:
            if self.todo and not self.error:
                k = self.todo.popleft()
                self.in_flight.add(k)
                return k
            return None

    def answer(self, link, index, outstanding):
        """Read the answer to the oldest request."""
        while True:
            words = link.readline().split()
            if not words:
                raise LinkDown("%s sent an empty line" % link.name)
            if words[0] == "WAIT":
                continue
            if words[0] == "GONE":
                raise LinkDown("%s: %s" % (link.name, " ".join(words[1:]) or "gone"))
            k = int(words[1])
            if k != outstanding[0]:
                raise LinkDown("%s answered piece %d, not %d" % (link.name, k, outstanding[0]))
            if words[0] == "BAD":
                # The upstream's own copy of k failed its check: ask further up the chain for this piece.
                outstanding.popleft()
                with self.lock:
                    self.in_flight.discard(k)
                    self.fallback.append((k, index + 1))
                    self.refetched += 1
                    self.lock.notify_all()
                self.start_fallback()
                return
            if words[0] != "PIECE":
                raise LinkDown("%s said %r" % (link.name, " ".join(words)))
            length, sha = int(words[2]), words[3]
            digest = hashlib.sha256()
            data = link.read_into(length, digest)
            outstanding.popleft()
            expected_len = self.pieces[k][2]
            if length != expected_len or digest.hexdigest() != sha:
                # Corrupt on the way: never written, fetched again (from the same upstream, at the back).
                log("piece %d from %s failed its sha256; fetching it again" % (k, link.name))
                with self.lock:
                    self.refetched += 1
                self.give_back([k])
                return
            self.accept(k, data, sha, received=True)
            return

    def start_fallback(self):
        with self.lock:
            if self._fallback_thread is not None and self._fallback_thread.is_alive():
                return
            self._fallback_thread = threading.Thread(target=self.fallback_worker, daemon=True)
            self._fallback_thread.start()

    def fallback_worker(self):
        """Pieces an upstream found bad on its own disk: each fetched from the first live host further up;
        another BAD there queues it again one host further, up to the seed."""
        errlog = state_path(self.root, "fallback.err")
        while True:
            with self.lock:
                if not self.fallback or self.error:
                    return
                k, index = self.fallback.popleft()
                self.in_flight.add(k)
            asked = False
            while index < len(self.upstreams) and not asked:
                if index in self.dead:
                    index += 1
                    continue
                try:
                    link = self.connect(index, errlog)
                except (LinkDown, OSError) as exc:
                    self.upstream_failed(index, str(exc))
                    continue
                try:
                    link.send("WANT %d" % k)
                    self.answer(link, index, collections.deque([k]))
                    asked = True
                except LinkDown as exc:
                    self.upstream_failed(index, str(exc))
                finally:
                    link.close()
            if not asked:
                with self.lock:
                    self.error = self.error or (
                        "piece %d failed verification on every host up to the seed %s; the "
                        "seed's copy changed under the broadcast, rerun the play" % (k, self.upstreams[-1]["name"])
                    )
                    self.lock.notify_all()

    def progress_loop(self, stop):
        while not stop.wait(PROGRESS_EVERY_S):
            self.write_progress()

    def run(self):
        trusted, dropped = self.trusted_pieces()
        self.open_journal(trusted)
        self.verified = dict(trusted)
        self.bytes_reused = sum(self.pieces[k][2] for k in trusted)
        for index, _offset, _length in self.pieces:
            self.file_left[index] += 1
        for k in trusted:
            self.file_left[self.pieces[k][0]] -= 1
        self.todo.extend(k for k in range(len(self.pieces)) if k not in trusted)
        if dropped:
            log("%d piece(s) recorded here did not verify again and are fetched anew" % dropped)
        if not self.opts.seed:
            self.place_files()
        self.state = "running"
        self.write_progress()
        stop = threading.Event()
        ticker = threading.Thread(target=self.progress_loop, args=(stop,), daemon=True)
        ticker.start()
        target = self.hash_worker if self.opts.seed else self.stream_worker
        workers = [
            threading.Thread(target=target, args=() if self.opts.seed else (i,), daemon=True)
            for i in range(max(1, self.opts.streams))
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        while self._fallback_thread is not None and self._fallback_thread.is_alive():
            self._fallback_thread.join()
        stop.set()
        ticker.join()
        if not self.error and not self.all_done():
            self.error = "the relay stopped with %d piece(s) missing; rerun the play" % (
                len(self.pieces) - len(self.verified)
            )
        for fd in self.fds.values():  # what the end record vouches for is on the disk
            os.fsync(fd)
            os.close(fd)
        self.fds.clear()
        if not self.error and not self.opts.seed:
            self.remove_extras()
            for dirpath, _dirs, _files in os.walk(state_path(self.root, "partial"), topdown=False):
                if dirpath != state_path(self.root, "partial") and not os.listdir(dirpath):
                    os.rmdir(dirpath)  # subdirectories of files now in place
        self.finished_at = time.time()
        self.state = "failed" if self.error else "done"
        self.end_record("failed" if self.error else "done")
        self.journal.close()
        self.write_progress()
        for name in os.listdir(state_path(self.root)):  # the links' stderr logs, when they said nothing
            if name.endswith(".err") and os.path.getsize(state_path(self.root, name)) == 0:
                os.unlink(state_path(self.root, name))
        return self.progress()


def log(msg):
    sys.stderr.write("relay: %s\n" % msg)
    sys.stderr.flush()


def hold_lock(root):
    """The copy's lock for as long as this process lives; a second relay on the same copy is refused."""
    fd = os.open(state_path(root, "lock"), os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + LOCK_TRIES_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() > deadline:
                held = read_json(state_path(root, "progress.json"), {}) or {}
                raise RelayError(
                    "a relay (pid %s) is still running on %s; wait for it to finish, or stop it and rerun"
                    % (held.get("pid", "?"), root)
                ) from None
            time.sleep(0.05)  # poll interval while a probe holds the lock for an instant


def detach(root):
    """Go on in the background, away from the session that started the relay: True in the relay (a
    grandchild in its own session, output appended to .vacc-relay/relay.log), False in the caller."""
    child = os.fork()
    if child:
        os.waitpid(child, 0)  # the intermediate child exits at once
        return False
    os.setsid()
    if os.fork():
        os._exit(0)  # pylint: disable=protected-access
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(state_path(root, "relay.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)
    return True


def cmd_run(args):
    root = os.path.abspath(args.dir)
    ensure_state(root)
    args.ssh = json.loads(args.ssh) if args.ssh else []
    args.upstreams = json.loads(args.upstreams) if args.upstreams else []
    if not args.seed and not (args.upstreams and args.manifest_id):
        raise RelayError(
            "a receiving relay needs --manifest-id (the seed's) and --upstreams (its predecessors in "
            "the chain, nearest first)"
        )
    if args.detach:
        # The role starts every relay this way, in one round trip, and follows them with `status` (the watcher):
        # what it learns at the end is progress.json, which says how the relay ended.
        if relay_alive(root):
            held = read_json(state_path(root, "progress.json"), {}) or {}
            raise RelayError(
                "a relay (pid %s) is still running on %s; wait for it to finish, or stop it and rerun"
                % (held.get("pid", "?"), root)
            )
        if not detach(root):
            print(json.dumps({"state": "started", "run": args.run, "log": state_path(root, "relay.log")}))
            return 0
    _lock = hold_lock(root)
    started = time.time()
    try:
        if args.seed:
            args.manifest_id = (read_json(state_path(root, "manifest.json")) or {}).get("id")
        else:
            fetch_manifest(root, args)
        relay = Relay(root, args)
    except RelayError as exc:
        # Ended before it could relay anything: progress.json says so, for the watcher (this run's, failed).
        write_json(
            state_path(root, "progress.json"),
            {
                "host": args.host,
                "role": "seed" if args.seed else "receiver",
                "state": "failed",
                "run": args.run,
                "pid": os.getpid(),
                "error": str(exc),
                "started_at": started,
                "finished_at": time.time(),
            },
        )
        raise
    result = relay.run()
    print(json.dumps(result))
    return 0 if result["state"] == "done" else 1


# --------------------------------------------------------------------------------- serve
class JournalView:
    """The pieces verified in a copy's journal, kept current as the journal grows (or is replaced)."""

    def __init__(self, root):
        self.path = state_path(root, "journal")
        self.ino, self.offset, self.partial = None, 0, b""
        self.manifest, self.verified = None, {}

    def refresh(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return
        if st.st_ino != self.ino or st.st_size < self.offset:
            self.ino, self.offset, self.partial, self.manifest, self.verified = st.st_ino, 0, b"", None, {}
        if st.st_size == self.offset:
            return
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if "manifest" in rec:
                self.manifest, self.verified = rec["manifest"], {}
            elif "k" in rec and "sha" in rec:
                self.verified[int(rec["k"])] = rec["sha"]
            elif "bad" in rec:
                self.verified.pop(int(rec["bad"]), None)


def cmd_serve(args):
    """Spawned by a downstream relay over ssh. Protocol (lines; a piece's bytes follow its PIECE line):
    <- HELLO 1 <manifest id> <run> <start grace s>   -> WAIT manifest (each second while this host's relay
                                                        takes that manifest from its own upstream) ... then
                                                        OK <host> | GONE <why>
    <- MANIFEST      -> MANIFEST <length> + the manifest's JSON
    <- WANT <k>      -> WAIT <k> (each second while k is not verified here) ... then
                        PIECE <k> <length> <sha256> + bytes | BAD <k> (failed its check here) | GONE <why>"""
    root = os.path.abspath(args.dir)
    out = sys.stdout.buffer
    inp = sys.stdin.buffer

    def say(text, data=None):
        out.write(text.encode() + b"\n")
        if data is not None:
            out.write(data)
        out.flush()

    hello = inp.readline().decode().split()
    if len(hello) != 5 or hello[0] != "HELLO" or hello[1] != PROTOCOL:
        say("GONE protocol mismatch: this host's relay speaks %s; install the same relay everywhere" % PROTOCOL)
        return 2
    want_manifest, run, grace = hello[2], hello[3], float(hello[4])
    # A host whose relay is starting takes the manifest from its own upstream first: wait for it.
    manifest = read_json(state_path(root, "manifest.json"))
    last_word = last_alive = 0.0
    while manifest is None or manifest.get("id") != want_manifest:
        now = time.monotonic()
        if now - last_alive >= LIVENESS_EVERY_S:
            if not relay_alive(root) and not starting(root, run, grace):
                manifest = read_json(state_path(root, "manifest.json"))
                if manifest is not None and manifest.get("id") == want_manifest:
                    break
                say(
                    "GONE has another manifest (%s) and no relay taking this one"
                    % ((manifest or {}).get("id") or "none")[:12]
                )
                return 0
            last_alive = now
        if now - last_word >= KEEPALIVE_S:
            say("WAIT manifest")
            last_word = now
        time.sleep(JOURNAL_POLL_S)  # poll interval of the wait for the manifest (the condition above)
        manifest = read_json(state_path(root, "manifest.json"))
    pieces = pieces_of(manifest["files"], manifest["piece_bytes"])
    view = JournalView(root)
    say("OK %s" % os.uname()[1])
    for raw in inp:
        words = raw.decode().split()
        if words == ["MANIFEST"]:
            body = json.dumps(manifest).encode()
            say("MANIFEST %d" % len(body), body)
            continue
        if len(words) != 2 or words[0] != "WANT":
            say("GONE unknown request %r" % raw[:40])
            return 2
        k = int(words[1])
        if not 0 <= k < len(pieces):
            say("GONE no piece %d in this manifest" % k)
            return 2
        last_word = last_alive = 0.0
        while True:
            view.refresh()
            if view.manifest == want_manifest and k in view.verified:
                break
            now = time.monotonic()
            if now - last_alive >= LIVENESS_EVERY_S:
                if not relay_alive(root) and not starting(root, run, grace):
                    view.refresh()  # it may have verified k just before it ended
                    if view.manifest == want_manifest and k in view.verified:
                        break
                    say("GONE its relay is not running and piece %d is not here" % k)
                    return 0
                last_alive = now
            if now - last_word >= KEEPALIVE_S:
                say("WAIT %d" % k)
                last_word = now
            time.sleep(JOURNAL_POLL_S)  # poll interval of the wait for piece k (the condition above)
        sha = view.verified[k]
        data = read_piece(root, manifest["files"], pieces, k)
        if data is None or hashlib.sha256(data).hexdigest() != sha:
            # Verified once, not now (the disk changed under it): say so, and mark it so this host repairs it.
            try:
                with open(state_path(root, "journal"), "a", encoding="utf-8") as j:
                    j.write(json.dumps({"bad": k, "at": time.time()}) + "\n")
            except OSError as exc:  # an ssh user who may read the copy but not write its journal
                log("piece %d is corrupt here and could not be marked: %s" % (k, exc))
            say("BAD %d" % k)
            continue
        say("PIECE %d %d %s" % (k, len(data), sha), data)
    return 0


def starting(root, run, grace):
    """This host was prepared for `run` and its relay may not have started yet (within the grace)."""
    prepared = read_json(state_path(root, "prepared.json"), {}) or {}
    if prepared.get("run") != run:
        return False
    started = False
    try:
        with open(state_path(root, "journal"), encoding="utf-8") as f:
            for line in f:
                if '"start"' in line and json.loads(line).get("start") == run:
                    started = True
    except (OSError, ValueError):
        pass
    return not started and time.time() - prepared.get("at", 0) < grace


# --------------------------------------------------------------------------------- probe / status
def cmd_probe(args):
    root = os.path.abspath(args.dir)
    prepared = read_json(state_path(root, "prepared.json"), {}) or {}
    print(
        json.dumps(
            {
                "alive": relay_alive(root),
                "progress": read_json(state_path(root, "progress.json")),
                "prepared": prepared.get("run"),
            }
        )
    )
    return 0


# The watcher probes every server each second: one multiplexed ssh connection per server makes a probe a
# session, not a handshake; the master exits 10 s after the last probe.
CONTROL = ["-o", "ControlMaster=auto", "-o", "ControlPath=/tmp/vacc-relay-%C", "-o", "ControlPersist=10"]


def probe_peer(peer, ssh, python, relay, timeout):
    remote = [python, relay, "probe", peer["dir"]]
    if ssh and peer.get("address"):
        argv = list(ssh) + CONTROL + [peer["address"], " ".join(shlex.quote(a) for a in remote)]
    else:
        argv = remote
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"unreachable": "no answer within %ds" % timeout}
    if res.returncode != 0:
        lines = (res.stderr.strip() or "exit %d" % res.returncode).splitlines()
        return {"unreachable": lines[-1]}
    try:
        return json.loads(res.stdout)
    except ValueError:
        return {"unreachable": "answered %r" % res.stdout[:80]}


def cmd_status(args):
    peers = json.loads(args.peers)
    ssh = json.loads(args.ssh) if args.ssh else []
    out = {}
    threads = []

    def one(peer):
        out[peer["name"]] = probe_peer(peer, ssh, args.python, args.relay, args.timeout)

    for peer in peers:
        t = threading.Thread(target=one, args=(peer,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    print(json.dumps({"at": time.time(), "peers": out}))
    return 0


# --------------------------------------------------------------------------------- CLI
def main(argv=None):
    parser = argparse.ArgumentParser(prog="vacc_weights_relay", description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check")
    p.add_argument("dir")
    p.add_argument("--manifest-id", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("dir")
    p.add_argument("--run", required=True)
    p.add_argument("--seed", action="store_true", help="describe this copy: it is the chain's source")
    p.add_argument("--piece-bytes", type=int, default=16 << 20)
    p.add_argument("--rehash", action="store_true")
    p.add_argument("--install", default="", help="also install this very file there (when it differs)")
    p = sub.add_parser("run")
    p.add_argument("dir")
    p.add_argument("--run", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--seed", action="store_true")
    p.add_argument("--manifest-id", default="", help="the seed's manifest (a receiver takes it from its upstream)")
    p.add_argument("--upstreams", default="", help="JSON: [{name, address, dir}], nearest first, the seed last")
    p.add_argument("--ssh", default="", help="JSON: the ssh command before the address; empty: upstreams are local")
    p.add_argument("--python", default="python3")
    p.add_argument("--relay", default=os.path.abspath(__file__))
    p.add_argument("--streams", type=int, default=4)
    p.add_argument("--window", type=int, default=2)
    p.add_argument("--stall-timeout", type=float, default=30.0)
    p.add_argument("--start-grace", type=float, default=120.0)
    p.add_argument("--rehash", action="store_true")
    p.add_argument("--detach", action="store_true", help="go on in the background; progress.json says how it ended")
    p = sub.add_parser("serve")
    p.add_argument("dir")
    p = sub.add_parser("probe")
    p.add_argument("dir")
    p = sub.add_parser("status")
    p.add_argument("--peers", required=True, help="JSON: [{name, address, dir}]")
    p.add_argument("--ssh", default="")
    p.add_argument("--python", default="python3")
    p.add_argument("--relay", default=os.path.abspath(__file__))
    p.add_argument("--timeout", type=int, default=10)
    args = parser.parse_args(argv)
    commands = {
        "check": cmd_check,
        "prepare": cmd_prepare,
        "run": cmd_run,
        "serve": cmd_serve,
        "probe": cmd_probe,
        "status": cmd_status,
    }
    try:
        return commands[args.command](args)
    except RelayError as exc:
        if args.command in ("run", "check", "prepare"):
            print(json.dumps({"state": "failed", "error": str(exc)}))
        log(str(exc))
        return 1
    except BrokenPipeError:
        return 0 if args.command == "serve" else 1


if __name__ == "__main__":
    sys.exit(main())
