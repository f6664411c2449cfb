# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Who fetches the weights from the hub and who copies them from whom: one pass over the play's
hosts, on the controller. Pure functions; the model_download role acts on the answer."""

from __future__ import annotations

CONTROLLER = ("localhost", "127.0.0.1")
STRATEGIES = ("each", "once", "broadcast")


class DownloadError(ValueError):
    """A download layout that cannot work; the message is one sentence naming the fix."""


def chain_upstreams(chain, name):
    """The hosts `name` may pull from in a broadcast `chain` (seed first): its predecessors, nearest
    first, so the seed comes last. When the nearest is down the relay skips to the next one up, so a
    failed host's successors are fed by the host before it and the seed always remains."""
    position = chain.index(name)
    return list(reversed(chain[:position]))


def link(hosts, name):
    """What a relay needs to reach `name`: its address for ssh and its copy's directory there."""
    return {"name": name, "address": hosts[name].get("address") or name, "dir": hosts[name]["dest"]}


def topology(hosts, strategy="each", seed_host="", shared_path=False):
    """`hosts`: the play's hosts in order, {name: {"model": ..., "dest": ..., "address": ...}} (address:
    where the other hosts reach it over ssh, for broadcast; default the name). Returns
    {"hosts": {name: {"seed", "controller_seed", "once", "broadcast", "fetch", "source", "source_path",
                      "chain", "upstreams"}},
     "seeds": {model: seed}, "chains": {model: [{"name", "address", "dir"}, seed first]}}:
    - each: every host fetches from the hub itself;
    - once: per model one seed fetches (model_download_seed_host, or the first host deploying the
      model; localhost is the controller) and the others copy from it;
    - broadcast: per model one seed fetches, then the model's hosts form a chain in play order, seed
      first; each host pulls every piece from its predecessor (`upstreams`: predecessors, nearest first,
      as {"name", "address", "dir"});
    - shared_path: every host mounts the seed's directory, so only the seed writes and nobody copies.
    """
    if strategy not in STRATEGIES:
        raise DownloadError(
            "model_download_strategy must be %s, not '%s'."
            % (", ".join(STRATEGIES[:-1]) + " or " + STRATEGIES[-1], strategy)
        )
    broadcast = strategy == "broadcast"
    if broadcast and shared_path:
        raise DownloadError(
            "model_download_shared_path: true copies nothing, so there is nothing to broadcast; use "
            "model_download_strategy: once with it, or drop model_download_shared_path."
        )
    once = strategy == "once" or bool(shared_path)
    seeded = once or broadcast
    out, seeds = {}, {}
    models = []
    for host in hosts.values():
        if host["model"] not in models:
            models.append(host["model"])
    controller_seed = seeded and bool(seed_host) and seed_host not in hosts
    if controller_seed and seed_host not in CONTROLLER:
        raise DownloadError(
            "model_download_seed_host %s is not a host of this play; name one of them, or "
            "localhost for the controller." % seed_host
        )
    if controller_seed and broadcast:
        raise DownloadError(
            "model_download_strategy: broadcast starts its chain on a host of the play, not on the "
            "controller; leave model_download_seed_host empty or name one of the play's hosts (or use "
            "strategy once with localhost)."
        )
    if controller_seed and shared_path:
        raise DownloadError(
            "model_download_shared_path needs a seed among the play's hosts (the one that writes the "
            "shared directory); leave model_download_seed_host empty or name one of them."
        )
    if controller_seed and len(models) > 1:
        raise DownloadError(
            "model_download_seed_host: localhost fetches one model per run, but this play deploys "
            "%s; run it per model (--limit), or let a host of each model be the seed." % ", ".join(models)
        )
    for model in models:
        if not seeded:
            continue
        if seed_host:
            if not controller_seed and hosts[seed_host]["model"] != model:
                raise DownloadError(
                    "model_download_seed_host %s deploys %s, not %s; name a host that deploys %s, "
                    "or leave it empty to pick one." % (seed_host, hosts[seed_host]["model"], model, model)
                )
            seeds[model] = seed_host
        else:
            seeds[model] = next(n for n, h in hosts.items() if h["model"] == model)
    chains = {}
    if broadcast:
        for model, seed in seeds.items():
            chains[model] = [seed] + [n for n, h in hosts.items() if h["model"] == model and n != seed]
    for name, host in hosts.items():
        seed = seeds.get(host["model"], name)
        is_seed = seed == name
        copies = once and not is_seed and not shared_path
        chain = chains.get(host["model"], [])
        out[name] = {
            "seed": seed,
            "controller_seed": controller_seed,
            "once": once,
            "broadcast": broadcast,
            "fetch": is_seed,
            "source": ("controller" if controller_seed else seed) if copies else None,
            "source_path": None if not copies or controller_seed else hosts[seed]["dest"],
            "chain": chain,
            "upstreams": [link(hosts, n) for n in chain_upstreams(chain, name)] if broadcast else [],
        }
    return {
        "hosts": out,
        "seeds": seeds,
        "chains": {model: [link(hosts, n) for n in chain] for model, chain in chains.items()},
    }
