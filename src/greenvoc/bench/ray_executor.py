"""The sweep on a Ray cluster: one measuring worker per node (CPU) or per GPU (CUDA).

Each worker is a Ray actor pinned to its node by node-affinity scheduling. A CPU actor reserves
every CPU Ray sees on its node, so no other Ray work shares the package while it measures; a
CUDA actor reserves one GPU and meters that GPU alone (NVML by the device's UUID). Actors run
shards (one model × variant, a few utterances) one after the other, keep their model loaded
between shards of that model, and write rows straight to the shared store, where the unique
(run, model, variant, utterance) key makes every row exactly-once: a killed worker is restarted
and its shard retried (each at most ``MAX_RETRIES`` times), and a retried shard skips the rows
that were stored before the kill. A shard that still fails is stored as failed rows naming the
node; the next run of the same command retries them.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress

from greenvoc.bench.plan import Plan, PlanItem
from greenvoc.bench.runner import calibration_paths
from greenvoc.errors import GreenvocError, StoreError, UsageError
from greenvoc.store import ResultStore
from greenvoc.store.results import add_result, done_keys

#: Restarts of a dead actor, and retries of the shard it was running, before the shard's rows
#: are stored as failed.
MAX_RETRIES = 2
#: Utterances per shard at most: small shards keep the progress bar moving and spread a model
#: over the nodes; the model stays loaded between shards of the same model.
MAX_SHARD_UTTERANCES = 4
log = logging.getLogger(__name__)
INSTALL_HINT = "pip install 'greenvoc[scale]' (or pip install ray) on every machine"


def import_ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError as e:
        raise UsageError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}"
                         ) from e
    return ray


def check_reachable(address: str, timeout_s: float = 3.0) -> None:
    """Fail fast (ray.init would wait minutes) when nothing listens at ``host:port``."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s):
            return
    except ValueError as e:
        raise UsageError(f"--ray-address {address!r} is not host:port (e.g. 10.0.0.1:6379, or "
                         "'auto' for the cluster `ray start` runs on this machine)") from e
    except OSError as e:
        raise UsageError(
            f"no Ray cluster answers at {address} ({e}); start one with `ray start --head "
            f"--port={port}` on that machine (and `ray start --address={address}` on the "
            "others), or leave --ray-address out for a one-machine Ray instance") from e


def use_token_if_available() -> bool:
    """Turn on Ray's token authentication (Ray >= 2.52) for this driver if ``RAY_AUTH_MODE`` is
    unset and this machine holds a token (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or
    ``~/.ray/auth_token``); True when it did.

    Ray applies this rule itself to a cluster found with ``address="auto"`` but never to an
    explicit address, while ``ray start --head`` turns authentication on wherever
    ``~/.ray/auth_token`` exists (any earlier one-machine ``ray.init()`` writes one). A driver
    in token mode cannot run actors on a cluster without authentication, so the rule is applied
    only after a first attempt without the token failed.
    """
    if os.environ.get("RAY_AUTH_MODE") is not None:
        return False
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without token authentication
        return False
    return maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _connect_advice(address: str | None, token: bool) -> str:
    auth = ("this machine sent its Ray token (RAY_AUTH_MODE=token): check that it is the head's"
            if token else "if the cluster uses Ray's token authentication (`ray start --head` "
            "turns it on where ~/.ray/auth_token exists), give this machine the head's token")
    return (f"{auth} — `ray get-auth-token` on the head prints it; set RAY_AUTH_TOKEN=<token> "
            "here, and RAY_AUTH_MODE=token RAY_AUTH_TOKEN=<token> on every `ray start "
            f"--address={address or 'HEAD:6379'}` (docs/scale-out.md); with no cluster "
            "running, start one with `ray start --head`")


@dataclass(frozen=True)
class _Node:
    node_id: str
    hostname: str
    cpus: float
    gpus: int


def _absolute_sqlite(url: str) -> str:
    """Workers run in other folders: a relative SQLite path is made absolute."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return url
    return parsed.set(database=str(Path(parsed.database).resolve())).render_as_string(
        hide_password=False)


class _Actor:
    """The body of the Ray actor (wrapped by ``ray.remote`` at run time, so that importing
    this module needs no Ray)."""

    def __init__(self, config, calibration, store_url, run_id, out_dir, device, node_id,
                 gpus_on_node) -> None:
        from greenvoc.bench.worker import BenchWorker, NodeIdentity
        from greenvoc.energy.meter import EnergyMeter

        meter, gpu_uuid = None, None
        if device.startswith("cuda"):
            import torch

            # Ray hands this actor one GPU through CUDA_VISIBLE_DEVICES (index order set to PCI
            # bus order below); NVML enumerates every GPU of the node, so the meter is pointed
            # at this GPU by its UUID. torch has already mapped its device 0.
            torch.cuda.init()
            gpu_uuid = f"GPU-{torch.cuda.get_device_properties(0).uuid}"
            os.environ["CUDA_VISIBLE_DEVICES"] = gpu_uuid
            if gpus_on_node > 1:  # the CPU package is shared by this node's GPU workers
                from greenvoc.energy.nvml import NvmlReader

                meter = EnergyMeter(sources=[NvmlReader()], mode="process")
            device = "cuda:0"
        identity = NodeIdentity.local(device, node_id=node_id, gpu=gpu_uuid)
        self.worker = BenchWorker(config, calibration, store_url, run_id, out_dir, identity,
                                  meter=meter)

    def info(self) -> dict[str, Any]:
        ident = self.worker.identity
        return {"node": ident.node, "hostname": ident.hostname, "hardware": ident.hardware,
                "idle_power_w": self.worker.idle_power_w}

    def run_shard(self, item: PlanItem, utterance_ids: list[str]) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self.worker.run_shard(item, utterance_ids))


class RayExecutor:
    """Connects to (or starts) a Ray cluster and checks it can run the plan against ``store``."""

    def __init__(self, plan: Plan, store: ResultStore, address: str | None = None) -> None:
        self.ray = import_ray()
        self.plan, self.store = plan, store
        if address and address != "auto":
            check_reachable(address)
        # Ray < 2.52 has no AuthenticationError
        refused = (ConnectionError,
                   getattr(self.ray.exceptions, "AuthenticationError", ConnectionError))
        token = os.environ.get("RAY_AUTH_MODE", "").lower() == "token"
        try:
            # no address: Ray's own rule, the cluster `ray start` runs here, else a new
            # one-machine instance for this command
            self._init(address)
        except refused as e:
            if not (address and address != "auto" and use_token_if_available()):
                raise UsageError(f"cannot connect to the Ray cluster at {address}: "
                                 f"{str(e).strip().splitlines()[0]}; "
                                 f"{_connect_advice(address, token)}") from e
            try:
                self._init(address)
            except refused as e2:
                raise UsageError(f"cannot connect to the Ray cluster at {address}, with or "
                                 f"without this machine's Ray token: "
                                 f"{str(e2).strip().splitlines()[0]}; "
                                 f"{_connect_advice(address, True)}") from e2
            log.warning("connected to %s with this machine's Ray token (the cluster uses "
                        "token authentication); export RAY_AUTH_MODE=token to skip the first "
                        "attempt without it", address)
        self.nodes = self._nodes()
        if store.backend == "sqlite" and len(self.nodes) > 1:
            self.ray.shutdown()
            raise UsageError(
                f"--executor ray on a cluster of {len(self.nodes)} nodes needs a database every "
                f"node can write to, and {store.display_url} is an SQLite file: one SQLite file "
                "cannot be shared safely across machines (its locking does not hold over "
                "network file systems). Use a PostgreSQL server: --db "
                "postgresql+psycopg://USER:PASSWORD@HOST:5432/DBNAME (docs/scale-out.md)")

    def _init(self, address: str | None) -> None:
        self.ray.init(address=address, log_to_driver=False, configure_logging=False)

    def _nodes(self) -> list[_Node]:
        nodes = []
        for n in self.ray.nodes():
            if not n.get("Alive"):
                continue
            res = n.get("Resources", {})
            nodes.append(_Node(n["NodeID"], n.get("NodeManagerHostname")
                               or n.get("NodeManagerAddress", "?"),
                               float(res.get("CPU", 0)), int(res.get("GPU", 0))))
        device = self.plan.config.device
        usable = [n for n in nodes if (n.gpus if device.startswith("cuda") else n.cpus) > 0]
        if not usable:
            self.ray.shutdown()
            what = "GPU" if device.startswith("cuda") else "CPU"
            raise UsageError(f"the Ray cluster has no node with a {what} resource for "
                             f"--device {device} (nodes: {len(nodes)})")
        return usable

    def _actors(self, run_id: int, out_dir: Path) -> list[Any]:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        remote = self.ray.remote(max_restarts=MAX_RETRIES, max_task_retries=MAX_RETRIES)(_Actor)
        cfg = self.plan.config
        args = (cfg, calibration_paths(self.plan), _absolute_sqlite(self.store.url), run_id,
                str(out_dir.resolve()), cfg.device)
        actors = []
        for node in self.nodes:
            pin = NodeAffinitySchedulingStrategy(node.node_id, soft=False)
            if cfg.device.startswith("cuda"):
                for _ in range(node.gpus):
                    actors.append(remote.options(
                        num_gpus=1, num_cpus=0, scheduling_strategy=pin,
                        runtime_env={"env_vars": {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}},
                    ).remote(*args, node.node_id, node.gpus))
            else:
                actors.append(remote.options(num_cpus=node.cpus, scheduling_strategy=pin)
                              .remote(*args, node.node_id, 0))
        return actors

    def _shards(self, run_id: int, n_workers: int) -> deque[tuple[int, list[str]]]:
        done = done_keys(self.store, run_id)
        shards: deque[tuple[int, list[str]]] = deque()
        for index, item in enumerate(self.plan.items):
            todo = [u.id for u in item.utterances if (item.model, item.variant, u.id) not in done]
            if not todo:
                continue
            size = max(1, min(MAX_SHARD_UTTERANCES, math.ceil(len(todo) / n_workers)))
            shards.extend((index, todo[i:i + size]) for i in range(0, len(todo), size))
        return shards

    def _fail_shard(self, run_id: int, item: PlanItem, utt_ids: list[str], node: str,
                    error: BaseException) -> int:
        done = done_keys(self.store, run_id)
        message = (f"failed on node {node} after {MAX_RETRIES} retries: "
                   f"{type(error).__name__}: {str(error).strip().splitlines()[-1][:500]}")
        return sum(add_result(self.store, run_id, model=item.model, variant=item.variant,
                              utterance=u, family="unknown", has_weights=item.has_weights,
                              error=message)
                   for u in utt_ids if (item.model, item.variant, u) not in done)

    def run(self, run_id: int, out_dir: str | Path, bar: Progress
            ) -> tuple[int, int, float, float, dict[str, dict[str, Any]]]:
        """Run the plan's remaining rows; returns (written, failed, synthesis s, mean idle W,
        rows per node)."""
        ray = self.ray
        task = bar.add_task("ray: idle power of each node", total=self.plan.n_rows)
        try:
            actors = self._actors(run_id, Path(out_dir))
            infos = {a: info for a, info in zip(actors, self._get([a.info.remote()
                                                                   for a in actors]),
                                                strict=True)}
            shards = self._shards(run_id, len(actors))
            bar.advance(task, self.plan.n_rows - sum(len(s[1]) for s in shards))
            by_node = {i["node"]: i for i in infos.values()}
            counts: dict[str, Counter[str]] = {node: Counter() for node in by_node}
            synthesis_s = 0.0
            loaded: dict[Any, int] = {}
            free, pending = list(actors), {}
            while shards or pending:
                while free and shards:
                    actor = free.pop()
                    # keep a worker on the model it has loaded when there is work for it
                    pick = next((s for s in shards if s[0] == loaded.get(actor)), shards[0])
                    shards.remove(pick)
                    loaded[actor] = pick[0]
                    ref = actor.run_shard.remote(self.plan.items[pick[0]], pick[1])
                    pending[ref] = (actor, pick)
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    actor, (index, utt_ids) = pending.pop(ref)
                    node = infos[actor]["node"]
                    try:
                        report = ray.get(ref)
                    except ray.exceptions.RayError as e:
                        if isinstance(e.__cause__, StoreError) or "StoreError" in str(e):
                            raise StoreError(str(e).strip().splitlines()[-1]) from e
                        counts[node]["failed"] += self._fail_shard(
                            run_id, self.plan.items[index], utt_ids, infos[actor]["hostname"], e)
                        if not isinstance(e, ray.exceptions.RayActorError):
                            free.append(actor)  # the actor lives; only the shard failed
                    else:
                        counts[node]["written"] += report["written"]
                        counts[node]["failed"] += report["failed"]
                        synthesis_s += report["synthesis_s"]
                        free.append(actor)
                    bar.advance(task, len(utt_ids))
                    bar.update(task, description="ray: " + ", ".join(
                        f"{by_node[n]['hostname']}/{n[:8]} {c['written']}"
                        for n, c in counts.items()))
                if not free and not pending and shards:
                    for index, utt_ids in shards:
                        counts[next(iter(counts))]["failed"] += self._fail_shard(
                            run_id, self.plan.items[index], utt_ids, "(none left)",
                            GreenvocError("every Ray worker died"))
                    shards.clear()
        finally:
            ray.shutdown()
        per_node = {node: {"written": c["written"], "failed": c["failed"]}
                    | {k: by_node[node][k] for k in ("hostname", "hardware", "idle_power_w")}
                    for node, c in counts.items()}
        idle = [i["idle_power_w"] for i in infos.values()]
        return (sum(c["written"] for c in counts.values()),
                sum(c["failed"] for c in counts.values()), synthesis_s,
                sum(idle) / len(idle), per_node)

    def _get(self, refs: list[Any]) -> list[Any]:
        try:
            return self.ray.get(refs)
        except self.ray.exceptions.RayError as e:
            raise GreenvocError(f"a Ray worker could not start: {e}") from e
