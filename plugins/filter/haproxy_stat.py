# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""HAProxy's `show stat` CSV as data. Docs: haproxy_stat.yml beside this file."""

from __future__ import annotations

import csv
import io


def haproxy_stat(text, proxy=None, totals=False):
    """The rows of `show stat` (or the stats page's ;csv), keyed by 'proxy/server', each a dict of the
    header's fields; only `proxy`'s rows when given. Servers only, unless `totals` (then the BACKEND and
    FRONTEND rows too, e.g. 'instances/BACKEND' with the backend's queue)."""
    lines = [line for line in str(text or "").splitlines() if line.strip()]
    if not lines:
        return {}
    header = lines[0].lstrip("# ").split(",")
    out = {}
    for row in csv.reader(io.StringIO("\n".join(lines[1:]))):
        fields = dict(zip(header, row))
        if (fields.get("svname") in ("FRONTEND", "BACKEND") and not totals) or (
            proxy and fields.get("pxname") != proxy
        ):
            continue
        out["%s/%s" % (fields.get("pxname"), fields.get("svname"))] = fields
    return out


class FilterModule(object):
    def filters(self):
        return {"haproxy_stat": haproxy_stat}
