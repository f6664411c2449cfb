# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Action plugin of vacc.qwen3.deployment_plan (docs: plugins/modules/deployment_plan.py).

Per host (the _common role, once per host per play): read the host's weights and dies, plan on the
controller, return the plan and the service shape as facts. For a fleet (hosts=[...], run_once):
plan every host from hostvars without contacting any, write the per-host JSON files, return one
table. A refusal is the planner's own sentence as the task's msg.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import string
import tempfile

from ansible.plugins.action import ActionBase
from ansible.utils.vars import load_extra_vars

from ansible_collections.vacc.qwen3.plugins.plugin_utils import _engine_probe, _inputs, _role_vars
from ansible_collections.vacc.qwen3.plugins.plugin_utils._planner import PlanError
from ansible_collections.vacc.qwen3.plugins.plugin_utils._service import docker_run, service

ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str"},
    "inspect": {"type": "bool", "default": True},
    "refresh": {"type": "bool", "default": False},
    "plan_dir": {"type": "path"},
    "require_tokenizer": {"type": "bool", "default": True},
    "allow_custom_code": {"type": "bool", "default": False},
    "probe_dir": {"type": "path"},
}
KEY_ALPHABET = string.ascii_letters + string.digits


def write_atomic(path, text, mode=0o600):
    """Write `text` to `path` through a temporary file in the same directory (never half a file);
    nothing when it already holds `text`. Returns whether it wrote."""
    try:
        with open(path) as fh:
            if fh.read() == text and (os.stat(path).st_mode & 0o777) == mode:
                return False
    except OSError:
        pass
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        return True
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def ensure_key(path):
    """The key in `path`, generated once (40 letters and digits, 0600). Concurrent hosts race for
    the same file: the first link wins and everyone reads what it wrote. Returns True when made."""
    if os.path.exists(path):
        return False
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".api_key.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write("".join(secrets.choice(KEY_ALPHABET) for dummy in range(40)) + "\n")
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


def plan_record(plan_, svc):
    """What a plan file holds: the plan, the service shape and the docker run lines (no key)."""
    runs = [docker_run(spec) for spec in svc["instances"]]
    return dict(plan_, service=svc, docker_runs=runs, docker_run="\n".join(runs))


def summary_row(host, plan_):
    return "%s: %s %s TP%d x%d on %d x %s, dies %s, max-model-len %d (ceiling %d), max-input-len %s" % (
        host,
        plan_["model"],
        plan_["dtype"],
        plan_["tp"],
        plan_["instances"],
        plan_["cards"],
        plan_["card"],
        " | ".join(plan_["die_slices"]),
        plan_["max_model_len"],
        plan_["max_model_len_ceiling"],
        plan_["max_input_len"] if plan_["max_input_len"] is not None else "not given by the guide",
    )


def detail_lines(host, plan_, svc):
    """What the plan playbook prints for a host of a small fleet: the plan and its docker run lines."""
    mem = plan_["memory_per_die_gb"]
    rope = (
        json.dumps(plan_["rope_scaling"])
        if plan_["rope_scaling"]
        else "none (native context %d)" % plan_["native_context"]
    )
    lines = [
        "%s: %s (%s, %s) on %d x %s (%d dies): TP%d x %d instance(s) on dies %s"
        % (
            host,
            plan_["model"],
            plan_["dtype"],
            plan_["kind"],
            plan_["cards"],
            plan_["card"],
            plan_["dies"],
            plan_["tp"],
            plan_["instances"],
            " | ".join(plan_["die_slices"]),
        ),
        "max-model-len %d (the TP allows %d), max-input-len %s, max-concurrency %d per instance (%d in all)"
        % (
            plan_["max_model_len"],
            plan_["max_model_len_ceiling"],
            plan_["max_input_len"] if plan_["max_input_len"] is not None else "none in the guide",
            plan_["max_concurrency"],
            plan_["max_concurrency_total"],
        ),
        "memory per die %.2f GiB (weights %.2f, KV %.2f, overhead %.1f) of %.1f; weights on disk %.2f GiB"
        % (
            mem["total"],
            mem["weights"],
            mem["kv_cache"],
            mem["overhead"],
            plan_["die_memory_gb"],
            plan_["weights_disk_gb"],
        ),
        "rope scaling %s; reasoning parser %s; served as %s"
        % (rope, plan_["reasoning_parser"] or "none", plan_["served_model_name"]),
        "engine %s" % engine_line(svc["engine"]),
        "door %s on %s:%d (the OpenAI API, key checked), monitor %s; weights %s (read-only); API key %s"
        % (
            svc["door"]["name"],
            svc["door"]["bind_address"],
            svc["door"]["port"],
            svc["endpoints"]["monitor"],
            svc["weights"]["path"],
            svc["secrets"]["api_key_file"] or svc["secrets"]["api_key_source"],
        ),
    ]
    return lines + ["note: " + n for n in plan_["notes"]] + [docker_run(spec) for spec in svc["instances"]]


def engine_line(engine):
    if engine["fingerprint"]:
        return "vLLM %s (%s %s, flag set %s): flags as its help lists them" % (
            engine["version"],
            engine["source"],
            (engine["digest"] or "")[:19],
            engine["fingerprint"],
        )
    return "not probed yet: flags in vLLM %s's form (%s) until the service role probes %s" % (
        engine["version"],
        engine["source"],
        engine["image"],
    )


def engine_for(s, probe_fact, probe_dir, memo=None):
    """The probe record the argv is built from, and where it came from: this run's probe of the host's
    image (the fact qwen3_engine, set by vacc.qwen3.engine_probe), else the controller's last probe of
    that image reference, else none."""
    if (
        isinstance(probe_fact, dict)
        and probe_fact.get("image") == s["image"]
        and isinstance(probe_fact.get("flags"), dict)
    ):
        return probe_fact, "probe"
    memo = {} if memo is None else memo
    if s["image"] not in memo:
        memo[s["image"]] = _engine_probe.cached_by_image(probe_dir, s["image"])
    return memo[s["image"]], "cache" if memo[s["image"]] else None


def engine_warning(host, s, engine):
    if s["vllm_version"] and engine:
        return "%s: qwen3_vllm_version %s is ignored: the image %s was probed (vLLM %s)." % (
            host,
            s["vllm_version"],
            s["image"],
            engine["version"],
        )
    if s["vllm_version"]:
        return (
            "%s: the engine's flags follow qwen3_vllm_version %s: the image %s has not been probed, so nothing "
            "checks them." % (host, s["vllm_version"], s["image"])
        )
    return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        extra = set(load_extra_vars(self._loader))
        # A role variable that no role reads (vllm_service_image) is refused before anything is planned.
        names = set(extra) | set(task_vars)
        for host in args["hosts"] or []:
            names.update(task_vars["hostvars"][host])
        wrong = _role_vars.unknown(names)
        if wrong:
            result.update(failed=True, msg=" ".join(wrong))
            return result
        try:
            if args["hosts"] is not None:
                result.update(self._fleet(args, task_vars, extra))
            else:
                result.update(self._host(args, task_vars, extra))
        except (PlanError, OSError) as exc:
            result.update(failed=True, msg=str(exc))
        return result

    # ------------------------------------------------------------------ one host, with its weights
    def _host(self, args, task_vars, extra):
        host = task_vars["inventory_hostname"]

        def get(name):
            return self._templar.template(task_vars[name]) if name in task_vars else _inputs.MISSING

        values = _inputs.read(get, extra)
        s = _inputs.settings(
            values,
            host,
            address=get("ansible_host") if "ansible_host" in task_vars else None,
            inventory_dir=task_vars.get("inventory_dir"),
            awx=_is_awx(task_vars),
        )
        engine, source = engine_for(s, task_vars.get("qwen3_engine"), args["probe_dir"])
        # A later play of the same run reuses the plan when nothing it depends on changed (the probe included).
        digest = hashlib.sha256(
            json.dumps(
                [host, values, s, sorted(extra), dict(args, refresh=None), _engine_probe.summary(engine, source)],
                sort_keys=True,
                default=str,
            ).encode()
        ).hexdigest()
        if not args["refresh"] and task_vars.get("qwen3_plan_digest") == digest and "qwen3_service" in task_vars:
            return {
                "changed": False,
                "msg": "planned earlier in this run: " + summary_row(host, task_vars["qwen3_plan"]),
            }
        facts, checkpoint, dies = {"qwen3_plan_digest": digest}, None, None
        if args["inspect"]:
            vacc = self._module(
                "vacc.qwen3.vacc_facts", {"dies": values["vacc_dies"], "card": values["vacc_card"]}, task_vars
            )
            weights = self._module(
                "vacc.qwen3.model_verify",
                {
                    "path": s["weights_path"],
                    "fail_on_problems": False,
                    "require_tokenizer": args["require_tokenizer"],
                    "allow_custom_code": args["allow_custom_code"],
                },
                task_vars,
            )
            facts["vacc"] = vacc["ansible_facts"]["vacc"]
            facts["qwen3_weights"] = {
                k: weights.get(k)
                for k in (
                    "path",
                    "exists",
                    "verified",
                    "problems",
                    "fingerprint",
                    "size_bytes",
                    "quantization_config",
                    "custom_code",
                )
            }
            # What the weights say is checked against the model's row (dtype, bits, method, desc_act).
            checkpoint = (
                {
                    "path": weights.get("path"),
                    "quantization_config": weights.get("quantization_config"),
                    "torch_dtype": (weights.get("config") or {}).get("torch_dtype"),
                }
                if weights.get("verified")
                else None
            )
            dies = facts["vacc"]["dies"]
        p = _inputs.plan_values(values, checkpoint=checkpoint, detected_dies=dies)
        svc = service(p, s, host, engine=engine, engine_source=source)
        changed = self._key(svc)
        if args["plan_dir"] and not self._task.check_mode:
            os.makedirs(args["plan_dir"], mode=0o700, exist_ok=True)
            changed = (
                write_atomic(
                    os.path.join(args["plan_dir"], host + ".json"), json.dumps(plan_record(p, svc), indent=2) + "\n"
                )
                or changed
            )
        facts.update(qwen3_plan=p, qwen3_service=svc)
        out = {"changed": changed, "ansible_facts": facts, "msg": summary_row(host, p)}
        warning = engine_warning(host, s, engine)
        if warning:
            out["warnings"] = [warning]
        return out

    def _module(self, name, module_args, task_vars):
        res = self._execute_module(module_name=name, module_args=module_args, task_vars=task_vars)
        if res.get("failed"):
            raise PlanError("%s on %s failed: %s" % (name, task_vars["inventory_hostname"], res.get("msg")))
        return res

    def _key(self, svc):
        """The API key file on the controller: generated once, never in check mode."""
        path = svc["secrets"]["api_key_file"]
        if path is None or self._task.check_mode:
            return False
        return ensure_key(path)

    # ------------------------------------------------------------------ a fleet, from hostvars alone
    def _fleet(self, args, task_vars, extra):
        hostvars = task_vars["hostvars"]
        plans, refused, rows, warnings, memo = {}, {}, [], [], {}
        for host in args["hosts"]:
            hv = hostvars[host]

            def get(name, hv=hv):
                return hv[name] if name in hv else _inputs.MISSING

            try:
                values = _inputs.read(get, extra)
                s = _inputs.settings(
                    values,
                    host,
                    address=get("ansible_host") if "ansible_host" in hv else None,
                    inventory_dir=get("inventory_dir") if "inventory_dir" in hv else None,
                    awx=_is_awx(hv),
                )
                p = _inputs.plan_values(values)
                engine, source = engine_for(s, None, args["probe_dir"], memo)
                plans[host] = (p, service(p, s, host, engine=engine, engine_source=source))
            except PlanError as exc:
                refused[host] = str(exc)
                rows.append("%s: REFUSED: %s" % (host, exc))
                continue
            if engine_warning(host, s, engine) and len(warnings) < 5:
                warnings.append(engine_warning(host, s, engine))
            rows.append(summary_row(host, p))
        if refused:
            lines = ["%s: %s" % (h, m) for h, m in refused.items()]
            return {
                "failed": True,
                "msg": lines[0].split(": ", 1)[1]
                if len(args["hosts"]) == 1
                else "%d of %d host(s) refused; nothing was written:\n%s"
                % (len(refused), len(args["hosts"]), "\n".join(lines)),
            }
        # The fleet plan (vacc.qwen3.plan) writes no secret: the key is made by the first play that plans a
        # host for real (the _common role), not in an inventory directory that is often a git checkout.
        changed = False
        if not self._task.check_mode:
            if args["plan_dir"]:
                os.makedirs(args["plan_dir"], mode=0o700, exist_ok=True)
                for host, (p, svc) in plans.items():
                    changed = (
                        write_atomic(
                            os.path.join(args["plan_dir"], host + ".json"),
                            json.dumps(plan_record(p, svc), indent=2) + "\n",
                        )
                        or changed
                    )
        small = len(plans) <= 8
        return {
            "changed": changed,
            "warnings": warnings,
            "table": rows,
            "hosts": len(plans),
            "plans": {h: plan_record(p, svc) for h, (p, svc) in plans.items()} if small else {},
            "details": [line for h, (p, svc) in plans.items() for line in detail_lines(h, p, svc)] if small else [],
            "msg": "%d host(s) planned" % len(plans),
        }


def _is_awx(variables):
    return any(marker in variables for marker in _inputs.AWX_MARKERS)
