# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Who fetches the weights from the hub and who copies them from whom: one pass over the play's
hosts, on the controller. Pure functions; the model_download role acts on the answer."""

from __future__ import annotations

CONTROLLER = ("localhost", "127.0.0.1")
STRATEGIES = ("each", "once")


class DownloadError(ValueError):
    """A download layout that cannot work; the message is one sentence naming the fix."""


def topology(hosts, strategy="each", seed_host="", shared_path=False):
    """`hosts`: the play's hosts in order, {name: {"model": ..., "dest": ...}}. Returns
    {"hosts": {name: {"seed", "controller_seed", "once", "fetch", "source", "source_path"}},
     "seeds": {model: seed}}:
    - each: every host fetches from the hub itself;
    - once: per model one seed fetches (model_download_seed_host, or the first host deploying the
      model; localhost is the controller) and the others copy from it;
    - shared_path: every host mounts the seed's directory, so only the seed writes and nobody copies.
    """
    if strategy not in STRATEGIES:
        raise DownloadError("model_download_strategy must be %s, not '%s'." % (" or ".join(STRATEGIES), strategy))
    once = strategy == "once" or bool(shared_path)
    out, seeds = {}, {}
    models = []
    for name, host in hosts.items():
        if host["model"] not in models:
            models.append(host["model"])
    controller_seed = once and bool(seed_host) and seed_host not in hosts
    if controller_seed and seed_host not in CONTROLLER:
        raise DownloadError("model_download_seed_host %s is not a host of this play; name one of them, or "
                            "localhost for the controller." % seed_host)
    if controller_seed and shared_path:
        raise DownloadError("model_download_shared_path needs a seed among the play's hosts (the one that writes the "
                            "shared directory); leave model_download_seed_host empty or name one of them.")
    if controller_seed and len(models) > 1:
        raise DownloadError("model_download_seed_host: localhost fetches one model per run, but this play deploys "
                            "%s; run it per model (--limit), or let a host of each model be the seed."
                            % ", ".join(models))
    for model in models:
        if not once:
            continue
        if seed_host:
            if not controller_seed and hosts[seed_host]["model"] != model:
                raise DownloadError("model_download_seed_host %s deploys %s, not %s; name a host that deploys %s, "
                                    "or leave it empty to pick one." % (seed_host, hosts[seed_host]["model"],
                                                                        model, model))
            seeds[model] = seed_host
        else:
            seeds[model] = next(n for n, h in hosts.items() if h["model"] == model)
    for name, host in hosts.items():
        seed = seeds.get(host["model"], name)
        is_seed = seed == name
        copies = once and not is_seed and not shared_path
        out[name] = {
            "seed": seed,
            "controller_seed": controller_seed,
            "once": once,
            "fetch": is_seed,
            "source": ("controller" if controller_seed else seed) if copies else None,
            "source_path": None if not copies or controller_seed else hosts[seed]["dest"],
        }
    return {"hosts": out, "seeds": seeds}
