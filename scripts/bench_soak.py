"""Soak: ``provenance up`` held at a fixed request rate for a minute while registrations are anchored in the background.

The load, at a fixed rate, from ``h2load`` (Debian's nghttp2-client, HTTP/1.1 with ``--h1``): ``--rps`` requests
a second per connection, one request in flight on each, so a slow answer delays that connection's next requests
(sent back to back once it is answered) instead of piling up; what it could not send shows as a lower achieved
rate. It is written in C on one event loop: ~25-30 us of CPU a request here, against ~150-400 us for ``hey -q``
(Go, the generator before; still there with ``--client hey``), which took a third of the two cores in the 13:05
run and left the service less than it would have in production, where the clients are elsewhere.

- 99% verify by hash (``GET /v1/verify/{sha256}``): three processes on three registered images' hashes and one on a
  hash nobody registered (``unknown``), in the shares 30/30/30/9 of the whole rate;
- 1% verify by upload (``POST /v1/verify``) of a registered 1 MP JPEG (a reader checking a circulating original: the
  whole file is decoded and fingerprinted, then found by its hash);
- in the background, one registration of a new 1 MP JPEG a second (``POST /v1/media``, from this script: a slow,
  fixed trickle, not the load), every one then waited for until it is anchored on chain and mirrored.

Each generator process is to send a fixed number of requests (rate x seconds) and writes one row per answer (h2load's
``--log-file``, hey's CSV); errors are the requests planned but not answered (failed, timed out (hey: after 10 s, 30 s
for uploads; h2load has no per-request timeout), or not sent at all because the service fell behind and the
generator was stopped ``GRACE_SECONDS`` after the planned end) plus answers that were not 2xx/304. Latencies are the
generator's (from sending the request to reading the whole answer). Memory: the RSS of every process ``provenance up`` runs (supervisor, API
workers, indexer, anchorer, anvil), after a warm-up at the full rate (start) and at the end of the measured minute
(end); the RSS before the warm-up is recorded too.

Settings changed from the defaults, and why: the per-client rates (all load comes from one client address; the
limiter would refuse it after 600 requests a minute and measure itself). Everything else is ``provenance up``'s
default (2 API workers, SQLite, a local anvil, single-registration anchoring).

Writes bench/results/soak.json and prints a table. The machine may be shared with other work (its load average and
the CPU the rest of the machine used are recorded): say so next to any number quoted from it.

    python scripts/bench_soak.py [--rate 5000] [--seconds 60] [--upload-share 0.01] [--client h2load|hey]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from scripts.bench_api import (  # noqa: E402
    BOUNDARY,
    Service,
    cpu_seconds,
    load_average,
    machine_cpu,
    multipart,
    one_megapixel_jpegs,
    outbox_counts,
    register_and_wait,
    rss_bytes,
    wait_anchored,
)
from scripts.host_speed import describe, machine_facts  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "soak.json"
MB = 1024 * 1024
TARGETS = {"errors": 0, "hash_p99_ms": 20.0, "memory_growth_share": 0.10}
HASH_SHARES = (0.30, 0.30, 0.30, 0.09)  # three registered hashes and one unknown: 99% of the rate
# Both generators pace each connection (hey: worker) and wait for its answer before the next request, so one holds
# at most 1 / latency requests a second: 100 a second each for hash lookups (answers in ~1 ms when the machine is
# quiet), 5 for uploads (a registered file's answer takes ~10 ms, an unregistered one's decode 50-100 ms of a core).
HASH_QPS_PER_WORKER = 100
UPLOAD_QPS_PER_WORKER = 5
SPREAD_START_APART_SECONDS = 0.05  # between lookup generators with --spread-lookups (see run_load)
# A generator still running this long after its planned end is stopped with SIGINT (hey then writes what it has,
# h2load what its buffer had written): what it did not send or was not answered counts as errors.
GRACE_SECONDS = 30
CLIENTS = ("h2load", "hey")


class SoakService(Service):
    """``provenance up`` with its defaults (API workers included), only the per-client rates raised."""

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
        env.update(PYTHONPATH=str(ROOT), PROVENANCE_DATA_DIR=str(self.data_dir),
                   PROVENANCE_RATE_LIMIT_PUBLIC="100000000/minute",
                   PROVENANCE_RATE_LIMIT_VERIFY_UPLOADS="100000000/minute")  # fmt: skip
        return env

    def all_pids(self) -> list[int]:
        return self.server_pids()

    def by_kind(self, measure: Any) -> dict[str, float]:
        """``measure(pid)`` summed per kind of process (supervisor, api, indexer, anchorer, anvil), and the total."""
        out: dict[str, float] = {}
        for pid in self.all_pids():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                value = measure(pid)
            except OSError:
                continue
            kind = ("anvil" if "anvil" in cmdline else "api" if "-m api" in cmdline
                    else "indexer" if "indexer" in cmdline else "anchorer" if "anchorer" in cmdline
                    else "supervisor" if " up " in cmdline + " " else "other")  # fmt: skip
            out[kind] = round(out.get(kind, 0.0) + value, 1)
        out["total"] = round(sum(out.values()), 1)
        return out

    def rss_mb(self) -> dict[str, float]:
        """RSS per kind of process, and the total, in MB."""
        return self.by_kind(lambda pid: rss_bytes(pid) / MB)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far per kind of process (a process's threads included), and the total."""
        return self.by_kind(lambda pid: cpu_seconds([pid]))


def generator(client: str, url: str, rate: float, seconds: float, out: Path, body: Path | None = None,
              content_type: str | None = None, timeout: int = 10, per_worker_qps: float = HASH_QPS_PER_WORKER,
              spread: bool = False) -> subprocess.Popen[bytes]:  # fmt: skip
    """A ``client`` process sending ``rate`` requests a second for ``seconds`` (a fixed count; POST ``body`` if
    given), one row per answer into ``out``; h2load's connections opened a share of their period apart (``spread``,
    see ``run_load``), else all at once."""
    workers = max(1, math.ceil(rate / per_worker_qps))
    per_worker = rate / workers
    total = max(workers, round(rate * seconds))
    out.unlink(missing_ok=True)  # h2load appends to its log file
    if client == "h2load":  # one thread: one event loop for all its connections
        args = ["h2load", "--h1", "-n", str(total), "-c", str(workers), "--rps", f"{per_worker:.3f}", "-t", "1",
                "--log-file", str(out)]  # fmt: skip
        if spread and workers > 1:
            apart_ms = max(1, round(1000 * max(0.01, 1 / per_worker) / workers))  # h2load takes whole milliseconds
            args += ["--rate", "1", "--rate-period", f"{apart_ms}ms"]
        if body is not None:
            args += ["-d", str(body), "-H", f"content-type: {content_type or 'application/octet-stream'}"]
        stdout = subprocess.DEVNULL
    else:
        args = ["hey", "-n", str(total), "-c", str(workers), "-q", f"{per_worker:.3f}", "-t", str(timeout), "-o", "csv",
                "-disable-compression", "-m", "GET" if body is None else "POST"]  # fmt: skip
        if body is not None:
            args += ["-D", str(body), "-T", content_type or "application/octet-stream"]
        stdout = open(out, "wb")  # noqa: SIM115
    process = subprocess.Popen([*args, url], stdout=stdout, stderr=subprocess.STDOUT)
    process.client = client  # type: ignore[attr-defined]
    process.started = time.time()  # type: ignore[attr-defined]  # h2load's rows carry wall-clock start times
    process.expected = total  # type: ignore[attr-defined]
    process.rate = workers * per_worker  # type: ignore[attr-defined]
    return process


def finish(process: subprocess.Popen[bytes], deadline: float) -> dict[str, Any]:
    """Wait for the generator (SIGINT at ``deadline``: it stops, hey writing the answers it read); its CPU from the
    kernel."""
    while True:
        pid, _, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.send_signal(signal.SIGINT)
            _, _, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.1)
    process.returncode = 0
    return {"client_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2)}


def read_answers(process: subprocess.Popen[bytes], path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(latency s, status, offset s from the generator's start) per answer it read; h2load's status is -1 for a
    failed request."""
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    if process.client == "h2load":  # type: ignore[attr-defined]
        # start (us since the epoch), status, us until the end of the answer; a line cut by SIGINT is dropped
        rows = [r for r in (line.split("\t") for line in lines) if len(r) >= 3 and all(f.lstrip("-").isdigit() for f in r[:3])]
        data = np.array([[int(r[2]) / 1e6, int(r[1]), int(r[0]) / 1e6 - process.started] for r in rows])  # type: ignore[attr-defined]
    else:  # hey's CSV: response-time, ..., status-code, offset
        rows = [line.split(",") for line in lines[1:] if line.count(",") == 7]
        data = np.array([[float(r[0]), float(r[6]), float(r[7])] for r in rows])
    if not rows:
        return np.zeros(0), np.zeros(0, dtype=int), np.zeros(0)
    return data[:, 0], data[:, 1].astype(int), data[:, 2]


def summarise(name: str, parts: list[tuple[subprocess.Popen[bytes], Path, dict[str, Any]]]) -> dict[str, Any]:
    """One row for one kind of load, from its generator processes (several for staggered uploads)."""
    answers = [read_answers(process, path) for process, path, _ in parts]
    latency, status, offset = (np.concatenate([a[i] for a in answers]) for i in range(3))
    status = status.astype(int)
    ok = (status // 100 == 2) | (status == 304)
    expected = sum(int(process.expected) for process, _, _ in parts)  # type: ignore[attr-defined]
    rate = sum(float(process.rate) for process, _, _ in parts)  # type: ignore[attr-defined]
    usage = {"client_cpu_seconds": round(sum(u["client_cpu_seconds"] for _, _, u in parts), 2)}
    statuses = {str(code): int(n) for code, n in zip(*np.unique(status, return_counts=True))}
    seconds = float((offset + latency).max()) if offset.size else 0.0  # from the generator's start to its last answer
    return {
        "name": name, "target_rate": round(rate, 1), "sent": expected, "answered": int(status.size),
        "achieved_rate": round(status.size / seconds, 1) if seconds else 0.0, "seconds": round(seconds, 2),
        "not_answered": expected - int(status.size), "not_2xx": int((~ok).sum()), "statuses": statuses,
        "errors": expected - int(status.size) + int((~ok).sum()),
        "p50_ms": round(float(np.percentile(latency, 50)) * 1000, 2) if latency.size else None,
        "p99_ms": round(float(np.percentile(latency, 99)) * 1000, 2) if latency.size else None,
        "max_ms": round(float(latency.max()) * 1000, 1) if latency.size else None,
        "latencies": latency, **usage,
    }  # fmt: skip


class Registrar(threading.Thread):
    """One registration a second of a new 1 MP JPEG, in the background, until stopped."""

    def __init__(self, service: Service, key: str, images: list[bytes], per_second: float) -> None:
        super().__init__(daemon=True)
        self.service, self.key, self.images = service, key, images
        self.period = 1.0 / per_second if per_second > 0 else 0.0  # 0: none (what the load costs without them)
        self.stop = threading.Event()
        self.answers: list[int] = []
        self.failures: list[str] = []
        self.times: list[tuple[float, float]] = []  # (sent, answered), wall-clock seconds: to line up with h2load's

    def run(self) -> None:
        if not self.period:
            return
        with httpx.Client(timeout=60) as client:
            next_at = time.monotonic()
            for n, data in enumerate(self.images):
                if self.stop.is_set():
                    return
                sent = time.time()
                try:
                    response = client.post(self.service.url + "/v1/media", headers={"Authorization": f"Bearer {self.key}"},
                                           files={"file": ("a.jpg", data)},
                                           data={"caption": f"Soak {n}", "credit": "Bench"})  # fmt: skip
                    self.answers.append(response.status_code)
                    self.times.append((sent, time.time()))
                except httpx.HTTPError as exc:
                    self.failures.append(type(exc).__name__)
                next_at += self.period
                self.stop.wait(max(0.0, next_at - time.monotonic()))


def run_load(service: SoakService, work: Path, hashes: list[str], upload_body: Path, rate: float, seconds: float,
             upload_share: float, tag: str, client: str, burst_uploads: bool = False,
             spread_lookups: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """All generator processes at once for ``seconds``; their summaries.

    Uploads come from one h2load process per connection, each started a share of the period after the one before:
    h2load paces a connection with a timer of max(10 ms, 1 / its rate), started when it connects, so the 10 upload
    connections of one process (5 a second each) all sent their upload in the same millisecond every 200 ms (87% of
    uploads within 2 ms of the one before, in the 19:26 run), and the hash lookups arriving behind each burst of
    ten 276 KB bodies waited for it: the lookups' latencies had a 5 Hz period. ``burst_uploads`` keeps that shape.

    The 15 lookup connections of each hash likewise send together every 10 ms: 50 requests at once from the four
    processes, as ``hey -q`` (which the issue names) and every soak before sent them. ``spread_lookups`` opens a
    process's connections 1 ms apart instead (``--rate 1 --rate-period 1ms``; two connections of 15 on each
    millisecond of the 10), the processes started 50 ms apart (a process kept from a core while it opens its
    connections opens several in one turn of its loop): requests about evenly spaced in time. Neither shape is a
    crowd of independent readers, whose requests come at random moments, clustered by chance."""
    hash_rate = rate * (1 - upload_share)
    shares = [s / sum(HASH_SHARES) for s in HASH_SHARES]
    unknown = "0x" + "5a" * 32
    targets = [(f"hash registered {i + 1}", f"/v1/verify/{h}") for i, h in enumerate(hashes[:3])]
    targets.append(("hash unknown", f"/v1/verify/{unknown}"))
    runs: list[tuple[str, list[tuple[subprocess.Popen[bytes], Path]]]] = []
    for (name, path), share in zip(targets, shares):
        if runs and spread_lookups:
            time.sleep(SPREAD_START_APART_SECONDS)
        out = work / f"{tag}-{name.replace(' ', '-')}.log"
        runs.append((name, [(generator(client, service.url + path, hash_rate * share, seconds, out,
                                       spread=spread_lookups), out)]))  # fmt: skip
    if upload_share > 0:
        upload_rate = rate * upload_share
        connections = max(1, math.ceil(upload_rate / UPLOAD_QPS_PER_WORKER))
        split = 1 if burst_uploads or client != "h2load" else connections
        uploads = []
        for n in range(split):
            if n:
                time.sleep(1.0 / (upload_rate / connections) / split)  # the next connection's timer a share later
            out = work / f"{tag}-upload{'' if split == 1 else f'-{n}'}.log"
            uploads.append((generator(client, service.url + "/v1/verify", upload_rate / split, seconds, out,
                                      upload_body, f"multipart/form-data; boundary={BOUNDARY}", timeout=30,
                                      per_worker_qps=UPLOAD_QPS_PER_WORKER), out))  # fmt: skip
        runs.append(("upload 1 MP", uploads))
    deadline = time.monotonic() + seconds + GRACE_SECONDS
    return [summarise(name, [(process, out, finish(process, deadline)) for process, out in parts])
            for name, parts in runs]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=5000.0, help="requests per second, all kinds together")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--upload-share", type=float, default=0.01, help="share of the rate that uploads a 1 MP JPEG")
    parser.add_argument("--registrations-per-second", type=float, default=1.0,
                        help="background registrations (0: none, to see what they cost the lookups)")
    parser.add_argument("--burst-uploads", action="store_true",
                        help="all upload connections in one h2load process (their uploads sent together every 200 ms, "
                             "the shape of the runs before 2026-12-01 19:38)")
    parser.add_argument("--spread-lookups", action="store_true",
                        help="open each hash's lookup connections 1 ms apart (requests evenly spaced in time) instead "
                             "of together (bursts every 10 ms, as hey -q sends them)")
    parser.add_argument("--keep-logs", type=Path, default=None,
                        help="copy the generators' logs here, with the registrations' send and answer times")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds at the full rate before the measure")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--client", choices=CLIENTS, default="h2load", help="the fixed-rate generator")
    args = parser.parse_args()
    if shutil.which(args.client) is None:
        package = {"h2load": "nghttp2-client", "hey": "hey"}[args.client]
        raise SystemExit(f"{args.client} is missing: `make bench` installs it (Debian package {package})")

    result: dict[str, Any] = {
        "machine": machine_facts("other sessions' work may run on this machine: the load average before the run "
                                 "and the CPU seconds the rest of the machine used during it are recorded"),
        "command": "python scripts/bench_soak.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "service": "provenance up with its defaults (2 API workers, SQLite, local anvil, anchor_mode single); "
                   "per-client rates raised",
        "rate": args.rate, "seconds": args.seconds, "upload_share": args.upload_share,
        "registrations_per_second": args.registrations_per_second, "warmup_seconds": args.warmup,
        "client": args.client, "burst_uploads": args.burst_uploads, "spread_lookups": args.spread_lookups,
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        work = Path(tmp)
        service = SoakService(work / "var", workers=2)  # 2 = the default of api_workers
        service.start()
        try:
            key = service.cli("publisher", "add", "Soak Daily", "--domain", "soak.example").strip().splitlines()[-1]
            images = one_megapixel_jpegs(4 + int(args.registrations_per_second * (args.seconds + args.warmup + 30)), seed=7)
            hashes = register_and_wait(service, key, images[:4])
            upload_body = work / "upload.body"
            upload_body.write_bytes(multipart(images[3]))
            result["upload_jpeg_bytes"] = len(images[3])
            result["rss_mb_after_start"] = service.rss_mb()

            registrar = Registrar(service, key, images[4:], args.registrations_per_second)
            registrar.start()
            run_load(service, work, hashes, upload_body, args.rate, args.warmup, args.upload_share, "warmup",
                     args.client, args.burst_uploads, args.spread_lookups)
            time.sleep(2)  # the generators' last requests answered
            start_rss = service.rss_mb()
            submitted_before = len(registrar.answers)
            load = load_average()
            busy0, total0 = machine_cpu()
            server0 = service.cpu_seconds()
            runs = run_load(service, work, hashes, upload_body, args.rate, args.seconds, args.upload_share, "soak",
                            args.client, args.burst_uploads, args.spread_lookups)
            if args.keep_logs is not None:  # per-request times, to line up slow answers with what the service did
                args.keep_logs.mkdir(parents=True, exist_ok=True)
                for log in work.glob("soak-*.log"):
                    shutil.copy(log, args.keep_logs / log.name)
                (args.keep_logs / "registrations.json").write_text(json.dumps(registrar.times))
            server1 = service.cpu_seconds()
            server_split = {kind: round(server1[kind] - server0.get(kind, 0.0), 1) for kind in server1}
            server_cpu = server_split["total"]
            busy1, total1 = machine_cpu()
            end_rss = service.rss_mb()
            registrar.stop.set()
            registrar.join(120)
            try:
                anchored_at: float | None = wait_anchored(service, timeout=300)
            except SystemExit:  # reported below as lost, not raised: the figures are still written
                anchored_at = None
            submissions, anchored, mirrored = outbox_counts(service)
            registered_during = len(registrar.answers) - submitted_before
            time.sleep(5)
            settled_rss = service.rss_mb()
            healthy = httpx.get(service.url + "/healthz", timeout=10).status_code == 200
        finally:
            service.stop()

    hash_runs = [r for r in runs if r["name"].startswith("hash")]
    hash_latency = np.concatenate([r.pop("latencies") for r in hash_runs])
    for r in runs:
        r.pop("latencies", None)
    client_cpu = sum(r["client_cpu_seconds"] for r in runs)
    machine_busy = busy1 - busy0
    result.update({
        "load_average_before": load,
        "runs": runs,
        "rss_mb_start": start_rss, "rss_mb_end": end_rss, "rss_mb_end_plus_5s": settled_rss,
        "registrations": {"accepted_202": registrar.answers.count(202), "answered": len(registrar.answers),
                          "during_measure": registered_during, "other_answers": sorted(set(registrar.answers) - {202}),
                          "client_errors": registrar.failures, "all_anchored_and_mirrored": bool(anchored_at),
                          "outbox_rows": submissions, "anchored": anchored, "mirrored_records": mirrored},
        "cpu_seconds": {"service": round(server_cpu, 1), "service_by_process": server_split,
                        "load_generator": round(client_cpu, 1), "whole_machine": round(machine_busy, 1),
                        "others": round(max(0.0, machine_busy - server_cpu - client_cpu), 1),
                        "available": round((total1 - total0), 1)},
        "healthy_after": healthy,
    })  # fmt: skip
    summary = {
        "requests_sent": sum(r["sent"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "hash_target_rate": round(sum(r["target_rate"] for r in hash_runs)),
        "hash_achieved_rate": round(sum(r["achieved_rate"] for r in hash_runs)),
        "hash_p50_ms": round(float(np.percentile(hash_latency, 50)) * 1000, 2),
        "hash_p99_ms": round(float(np.percentile(hash_latency, 99)) * 1000, 2),
        "upload": next(({k: r[k] for k in ("target_rate", "achieved_rate", "p50_ms", "p99_ms", "errors", "statuses")}
                        for r in runs if r["name"].startswith("upload")), None),
        "memory_start_mb": start_rss["total"], "memory_end_mb": end_rss["total"],
        "memory_growth_share": round((end_rss["total"] - start_rss["total"]) / start_rss["total"], 4),
        # Every 202 (the 4 registered before the load and the background ones) must end as one mirrored record.
        "registrations_lost": max(0, 4 + registrar.answers.count(202) - mirrored),
    }  # fmt: skip
    summary["targets"] = {
        "0 errors": summary["errors"] == TARGETS["errors"],
        "hash lookups p99 <= 20 ms": summary["hash_p99_ms"] <= TARGETS["hash_p99_ms"],
        "memory at the end within 10% of the start": abs(summary["memory_growth_share"]) <= TARGETS["memory_growth_share"],
        "the fixed rate was held (>= 99% of it)": summary["hash_achieved_rate"] >= 0.99 * summary["hash_target_rate"],
        "no registration lost": summary["registrations_lost"] == 0,
    }  # fmt: skip
    result["summary"] = summary
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result, args.out)
    return 0


def print_table(result: dict[str, Any], out: Path) -> None:
    s = result["summary"]
    print(f"\nSoak: {result['rate']:,.0f} requests/s for {result['seconds']:.0f} s from {result['client']} ({result['machine']['cores']} cores, "
          f"shared machine; load average before {result['load_average_before']})  ->  {out}")  # fmt: skip
    print(describe(result["machine"]["host_speed"]))
    print(f"{'load':<22}{'target/s':>10}{'achieved/s':>12}{'sent':>9}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  statuses")
    for r in result["runs"]:
        print(f"{r['name']:<22}{r['target_rate']:>10,.0f}{r['achieved_rate']:>12,.0f}{r['sent']:>9,}{r['errors']:>8,}"
              f"{r['p50_ms'] or 0:>9.2f}{r['p99_ms'] or 0:>9.2f}{r['max_ms'] or 0:>9.1f}  {r['statuses']}")  # fmt: skip
    print(f"{'hash lookups, all':<22}{s['hash_target_rate']:>10,}{s['hash_achieved_rate']:>12,}{'':>9}{'':>8}"
          f"{s['hash_p50_ms']:>9.2f}{s['hash_p99_ms']:>9.2f}")  # fmt: skip
    reg = result["registrations"]
    print(f"registrations in the background: {reg['accepted_202']} accepted (202) of {reg['answered']}, "
          f"all anchored and mirrored: {reg['all_anchored_and_mirrored']}")  # fmt: skip
    print(f"memory (RSS of every process of provenance up): start {s['memory_start_mb']:.0f} MB, end "
          f"{s['memory_end_mb']:.0f} MB ({100 * s['memory_growth_share']:+.1f}%); per process at the end "
          f"{result['rss_mb_end']}")  # fmt: skip
    cpu = result["cpu_seconds"]
    split = ", ".join(f"{k} {v}" for k, v in cpu["service_by_process"].items() if k != "total")
    print(f"CPU seconds during the measure: service {cpu['service']} ({split}), {result['client']} "
          f"{cpu['load_generator']}, rest of the machine {cpu['others']} (of {cpu['available']} available)")  # fmt: skip
    hashes = sum(r["answered"] for r in result["runs"] if r["name"].startswith("hash"))
    if hashes:
        print(f"per hash lookup answered (all of the API's and the generator's CPU, uploads included): API "
              f"{1e6 * cpu['service_by_process'].get('api', 0.0) / hashes:.0f} us, {result['client']} "
              f"{1e6 * cpu['load_generator'] / hashes:.0f} us")  # fmt: skip
    print("targets met:", "; ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in s["targets"].items()))


if __name__ == "__main__":
    raise SystemExit(main())
